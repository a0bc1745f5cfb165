#!/usr/bin/env bats
# Several servers on separate hosts of the test bed (tests/netns.bash): a
# server whose link is cut goes silent, without a reset; gm-work and
# gm-submit notice it by TCP keepalive within the documented 25 s and move
# on.  The tests print their figures (detection time, jobs acknowledged,
# executed, lost, duplicated) as "# figures:" lines.  gm's tools only.

bats_require_minimum_version 1.5.0
load helper
load netns
load 70-hosts-helper

setup_file() {
	netns_bed s1 s2 w c
}

teardown_file() {
	netns_teardown
}

setup() {
	netns_skip
	[ "$TARGET" = gm ] || skip "the tools' liveness; gearmand is not involved"
}

@test "a server's link cut: gm-work notices within 25 s, serves again after; gm-submit's jobs complete on another server" {
	local t0 t1 tw out="$BATS_TEST_TMPDIR/out" err="$BATS_TEST_TMPDIR/err"
	hstart s1
	hstart s2
	# The worker serves "held" on s2 only, so jobs sent to s1 wait there.
	netns_spawn w "$GM_BIN/gm-work" -h "$(ip_of s2):4731" -f held -- cat
	# Without the probe (--probe 0): TCP keepalive alone.
	netns_spawn w sh -c "exec '$GM_BIN/gm-work' --probe 0 \
	    -h $(ip_of s1):4731 -f idle -- cat 2>'$BATS_TEST_TMPDIR/work.err'"
	wpid=$SPAWNED
	netns_spawn c sh -c "seq 4 | '$GM_BIN/gm-submit' -v -n --unordered --probe 0 -f held \
	    -h $(ip_of s1):4731,$(ip_of s2):4731 >'$out' 2>'$err'"
	cpid=$SPAWNED
	wait_until 30 eval '[ "$(queued s1 held)" = 2 ]'
	wait_until 30 eval '[ "$(wc -l <"$out")" = 2 ]'
	t0=$SECONDS
	netns_cut s1
	wait_until 90 eval '! pid_alive $cpid'
	t1=$SECONDS
	wait_until 90 grep -qF "lost connection to $(ip_of s1):" \
	    "$BATS_TEST_TMPDIR/work.err"
	tw=$SECONDS
	wait "$cpid"
	run sort -n "$out"
	assert_output "$(seq 4)"
	run cat "$err"
	assert_output --partial "$(ip_of s1):4731: Connection timed out; resubmitting 2 jobs"
	figures "link cut, gm-submit: detected and done after $((t1 - t0)) s;" \
	    "jobs acknowledged 4, results $(wc -l <"$out"), lost 0," \
	    "duplicated $(($(wc -l <"$out") - $(sort -u "$out" | wc -l)))"
	figures "link cut, gm-work: lost connection logged after $((tw - t0)) s"
	netns_restore s1
	wait_until 90 grep -qF "reconnected to $(ip_of s1):" \
	    "$BATS_TEST_TMPDIR/work.err"
	pid_alive "$wpid"
}
