#!/usr/bin/env bats
# Several servers on separate hosts of the test bed (tests/netns.bash): a
# server whose link is cut goes silent, without a reset; gm-work and
# gm-submit notice it by TCP keepalive within the documented 25 s and move
# on.  The tests print their figures (detection time, jobs acknowledged,
# executed, lost, duplicated) as "# figures:" lines.  gm's tools only.

bats_require_minimum_version 1.5.0
load helper
load netns

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

# hstart HOST: gm-server on HOST, port 4731, journal in the test's folder.
hstart() {
	netns_spawn "$1" "$GM_BIN/gm-server" -L "$(ip_of "$1")" -p 4731 \
	    --journal "$BATS_TEST_TMPDIR/j-$1" -l "$BATS_TEST_TMPDIR/$1.log"
	wait_until 20 netns_connect c "$(ip_of "$1")" 4731
}

ip_of() {
	local v="NETNS_IP_$1"
	echo "${!v}"
}

# queued HOST FUNC: the jobs queued for FUNC on HOST's server, asked from c.
queued() {
	netns_run c "$GM_BIN/gm-admin" -h "$(ip_of "$1"):4731" --raw status |
	    awk -v f="$2" -F '\t' '$1 == f { print $2 }'
}

figures() {
	echo "# figures: $*" >&3
}

@test "a server's link cut: gm-work notices within 25 s, serves again after; gm-submit's jobs complete on another server" {
	local t0 t1 tw out="$BATS_TEST_TMPDIR/out" err="$BATS_TEST_TMPDIR/err"
	hstart s1
	hstart s2
	# The worker serves "held" on s2 only, so jobs sent to s1 wait there.
	netns_spawn w "$GM_BIN/gm-work" -h "$(ip_of s2):4731" -f held -- cat
	netns_spawn w sh -c "exec '$GM_BIN/gm-work' -h $(ip_of s1):4731 \
	    -f idle -- cat 2>'$BATS_TEST_TMPDIR/work.err'"
	wpid=$SPAWNED
	netns_spawn c sh -c "seq 4 | '$GM_BIN/gm-submit' -v -n --unordered -f held \
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
