#!/usr/bin/env bats
# Liveness across several servers on the test bed of hosts (tests/netns.bash):
# the tools' probe (--probe, ECHO_REQ on a silent connection) against a
# server that goes silent, and three servers under background and
# foreground load losing one to SIGKILL or to a cut link.  Every test
# prints its figures (detection time, jobs acknowledged, executed, lost,
# duplicated) as "# figures:" lines and asserts the counts exactly.
# gm's tools and gm-server (journal on); gearmand is not involved.

bats_require_minimum_version 1.5.0
load helper
load netns
load 70-hosts-helper

setup_file() {
	netns_bed s1 s2 s3 w w2 c c2
}

teardown_file() {
	netns_teardown
}

setup() {
	netns_skip
	[ "$TARGET" = gm ] || skip "the tools' liveness and gm-server's journal"
}

teardown() {
	netns_reset
}

@test "the only server goes silent: gm-submit exits 3 naming it and the cause, within the documented 2 x 10 s + 5 s" {
	local t0 t1 d=$BATS_TEST_TMPDIR
	hstart s1
	netns_spawn c sh -c "'$GM_BIN/gm-submit' -f held -h $(ip_of s1):4731 \
	    x >'$d/out' 2>'$d/err'; echo \$? >'$d/rc'"
	wait_until 30 eval '[ "$(queued s1 held)" = 1 ]'
	t0=$(now_ms)
	netns_cut s1
	wait_until 60 test -s "$d/rc"
	t1=$(now_ms)
	run cat "$d/rc"
	assert_output 3
	run cat "$d/err"
	assert_output "gm-submit: $(ip_of s1):4731: no answer to ECHO_REQ within 10 s
gm-submit: no server reachable"
	run cat "$d/out"
	assert_output ""
	figures "only server silent, default --probe 10: gm-submit exit 3" \
	    "after $((t1 - t0)) ms (bound: 20 s to find it, 5 s to try" \
	    "connecting again); jobs acknowledged 1, executed 0, lost 0" \
	    "(reported), duplicated 0"
	# The bound, and two seconds for a loaded machine.
	[ $((t1 - t0)) -le 27000 ]
}

@test "--probe 2 finds a silent server in at most 4 s, where TCP keepalive takes 25 s: gm-submit's jobs complete on another server, gm-work reconnects" {
	local t0 t1 tw d=$BATS_TEST_TMPDIR
	hstart s1
	hstart s2
	# The worker serves "held" on s2 only, so jobs sent to s1 wait there.
	netns_spawn w "$GM_BIN/gm-work" -h "$(ip_of s2):4731" -f held -- cat
	# An idle worker on s1, asleep after PRE_SLEEP.
	netns_spawn w sh -c "exec '$GM_BIN/gm-work' --probe 2 \
	    -h $(ip_of s1):4731 -f idle -- cat 2>'$d/work.err'"
	# Registered before the cut, or it would only fail to connect.
	wait_until 30 eval '[ "$(workers s1 idle)" = 1 ]'
	netns_spawn c sh -c "seq 4 | '$GM_BIN/gm-submit' -v -n --unordered \
	    --probe 2 -f held -h $(ip_of s1):4731,$(ip_of s2):4731 \
	    >'$d/out' 2>'$d/err'; echo \$? >'$d/rc'"
	wait_until 30 eval '[ "$(queued s1 held)" = 2 ]'
	wait_until 30 eval '[ "$(wc -l <"$d/out")" = 2 ]'
	t0=$(now_ms)
	netns_cut s1
	wait_until 60 test -s "$d/rc"
	t1=$(now_ms)
	wait_until 60 grep -q "lost connection to $(ip_of s1):4731" "$d/work.err"
	tw=$(now_ms)
	run cat "$d/work.err"
	assert_output --partial "gm-work: lost connection to $(ip_of s1):4731 (no answer to ECHO_REQ within 2 s), reconnecting"
	run cat "$d/rc"
	assert_output 0
	run sort -n "$d/out"
	assert_output "$(seq 4)"
	run grep -c "^gm-submit: $(ip_of s1):4731: no answer to ECHO_REQ within 2 s; resubmitting 2 jobs$" "$d/err"
	assert_output 1
	figures "link cut, --probe 2: gm-submit found it and was done after" \
	    "$((t1 - t0)) ms (keepalive alone: 25 s); jobs acknowledged 4," \
	    "executed $(wc -l <"$d/out"), lost 0, duplicated 0"
	figures "link cut, --probe 2: gm-work logged the loss after" \
	    "$((tw - t0)) ms"
	# Within 2 x 2 s of the last answer, so before keepalive's 25 s even
	# on a loaded machine.
	[ $((t1 - t0)) -lt 25000 ]
	[ $((tw - t0)) -lt 25000 ]
	netns_restore s1
	wait_until 30 grep -q "reconnected to $(ip_of s1):4731" "$d/work.err"
}

# three_servers kill|cut: servers s1, s2, s3 with journals; 60 background
# jobs from host c, all acknowledged, then 30 foreground jobs from host c2,
# all created; workers on w and w2 (-j 2 each, every server) take four
# jobs, which wait at a gate.  The server that handed out most of those
# four is killed (SIGKILL) or has its link cut; then the gate opens.  Every
# execution is logged on the worker side as "HANDLE PAYLOAD".  Expected:
# every acknowledged job runs, and exactly the victim's jobs held at the
# gate run twice (their results cannot reach it: at least once).
three_servers() {
	local how=$1 d=$BATS_TEST_TMPDIR all s victim vip held t0 tc tw tr td
	local ack exe lost dup back=restart
	hstart s1
	hstart s2
	hstart s3
	all="$(ip_of s1):4731,$(ip_of s2):4731,$(ip_of s3):4731"
	cat >"$d/job.sh" <<-EOF
	p=\$(cat)
	echo "\$GM_HANDLE \$p" >>'$d/exec'
	until [ -e '$d/gate' ]; do sleep 0.05; done
	echo "\$p"
	EOF
	seq 1 60 >"$d/bg.in"
	netns_run c "$GM_BIN/gm-submit" -b -n -f count -h "$all" \
	    <"$d/bg.in" >"$d/bg.out"
	[ "$(wc -l <"$d/bg.out")" = 60 ]
	netns_spawn c2 sh -c "seq 101 130 | '$GM_BIN/gm-submit' -v -n \
	    --unordered -j 30 -f count -h $all >'$d/fg.out' 2>'$d/fg.err'; \
	    echo \$? >'$d/fg.rc'"
	wait_until 30 eval '[ "$(grep -c "created on" "$d/fg.err")" = 30 ]'
	for s in w w2; do
		netns_spawn "$s" sh -c "exec '$GM_BIN/gm-work' -j 2 -h $all \
		    -f count -- sh '$d/job.sh' 2>'$d/$s.err'"
	done
	wait_until 30 eval '[ "$(wc -l <"$d/exec" 2>/dev/null)" = 4 ]'
	victim=$(for s in s1 s2 s3; do
		echo "$(grep -c "^$(prefix_of "$s"):" "$d/exec") $s"
	done | sort -k1,1nr -k2,2 | awk 'NR == 1 { print $2 }')
	vip="$(ip_of "$victim"):4731"
	held=$(grep -c "^$(prefix_of "$victim"):" "$d/exec")
	[ "$(wc -l <"$d/exec")" = 4 ]

	# Acknowledged: the background handles, the foreground jobs created.
	ack=$(($(wc -l <"$d/bg.out") + $(grep -c "created on" "$d/fg.err")))
	t0=$(now_ms)
	if [ "$how" = kill ]; then
		netns_kill "$victim" KILL
	else
		netns_cut "$victim"
	fi
	wait_until 90 grep -q "^gm-submit: $vip: .*; resubmitting" "$d/fg.err"
	tc=$(now_ms)
	wait_until 90 eval 'grep -q "lost connection to $vip" "$d/w.err" &&
	    grep -q "lost connection to $vip" "$d/w2.err"'
	tw=$(now_ms)
	# The gate opens only once both workers know the victim is gone, so
	# each held job ends after its connection was lost: its result is
	# dropped, never written to a socket the worker has not yet seen close.
	touch "$d/gate"
	wait_until 90 test -s "$d/fg.rc"
	if [ "$how" = kill ]; then
		hstart "$victim"
	else
		# The victim drops its peers by keepalive (their jobs running
		# there go back to its queue) before the cable is plugged in
		# again: only the admin connection asking is left.
		wait_until 90 eval '[ "$(netns_run "$victim" "$GM_BIN/gm-admin" \
		    -h "$vip" --raw workers | grep -cv "^\.\$")" = 1 ]'
		netns_restore "$victim"
		back=restore
	fi
	tr=$(now_ms)
	wait_until 90 eval 'grep -q "reconnected to $vip" "$d/w.err" &&
	    grep -q "reconnected to $vip" "$d/w2.err"'
	wait_until 120 eval '[ "$(awk "{ print \$2 }" "$d/exec" | sort -u |
	    wc -l)" = 90 ]'
	for s in s1 s2 s3; do
		wait_until 30 eval '[ "$(queued "$s" count)" = 0 ]'
	done
	td=$(now_ms)

	run cat "$d/fg.rc"
	assert_output 0
	run sort -n "$d/fg.out"
	assert_output "$(seq 101 130)"
	exe=$(wc -l <"$d/exec")
	lost=$(cat "$d/bg.in" <(seq 101 130) | sort -u |
	    comm -23 - <(awk '{ print $2 }' "$d/exec" | sort -u) | wc -l)
	dup=$((exe - $(awk '{ print $2 }' "$d/exec" | sort -u | wc -l)))
	figures "three servers, $victim ${how/%kill/killed} ($held of the 4 running" \
	    "jobs from it): clients moved on after $((tc - t0)) ms, both" \
	    "workers after $((tw - t0)) ms; drained $((td - tr)) ms after" \
	    "its $back; jobs acknowledged" \
	    "$ack, executed $exe, lost $lost, duplicated $dup"
	[ "$ack" = 90 ]
	[ "$lost" = 0 ]
	[ "$dup" = "$held" ]
	[ "$exe" = $((90 + held)) ]
	# Background jobs keep their handles through the restart: each
	# acknowledged handle ran.
	run comm -23 <(sort -u "$d/bg.out") <(awk '{ print $1 }' "$d/exec" |
	    sort -u)
	assert_output ""
	if [ "$how" = kill ]; then
		# The workers knew: each held job's result was dropped.
		[ "$(cat "$d/w.err" "$d/w2.err" | grep -c "result dropped")" = \
		    "$held" ]
	fi
}

@test "three servers, two worker and two client hosts, one server SIGKILLed: nothing acknowledged is lost, the journal replays and the workers drain it" {
	three_servers kill
}

@test "three servers, two worker and two client hosts, one server's link cut: nothing acknowledged is lost, the jobs held there run again once" {
	three_servers cut
}

# unreachable_peer before|after: gm-work -v --probe 1 on host w serves
# "fast" (echo, no command) on s1 and s2, and s2's link is cut before
# gm-work starts, or once it is registered on both (the probe then finds
# it).  Then jobs go to s1 one after the other, each given 1 s (gm-submit
# -t 1000) from submission to result, until gm-work has ended two more
# attempts to reach s2, so that one whole attempt (3 s without an answer)
# falls among them: a worker that waited in connect(2) meanwhile fails
# the jobs submitted in its first 2 s.  All must be done.
unreachable_peer() {
	local when=$1 d=$BATS_TEST_TMPDIR ok=0 n=0 c0 t0 t1 s1ip s2ip
	hstart s1
	hstart s2
	s1ip="$(ip_of s1):4731"
	s2ip="$(ip_of s2):4731"
	[ "$when" = after ] || netns_cut s2
	netns_spawn w sh -c "exec '$GM_BIN/gm-work' -v --probe 1 \
	    -h $s1ip,$s2ip -f fast 2>'$d/work.err'"
	if [ "$when" = after ]; then
		wait_until 30 eval '[ "$(workers s2 fast)" = 1 ]'
		netns_cut s2
		wait_until 30 grep -q "lost connection to $s2ip" "$d/work.err"
	else
		wait_until 30 grep -q "cannot connect to $s2ip, will keep trying" \
		    "$d/work.err"
	fi
	wait_until 30 eval '[ "$(workers s1 fast)" = 1 ]'
	c0=$(attempts "$d/work.err" "$s2ip")
	t0=$(now_ms)
	while [ "$(attempts "$d/work.err" "$s2ip")" -lt $((c0 + 2)) ] &&
	    [ "$n" -lt 2000 ]; do
		n=$((n + 1))
		if netns_run c "$GM_BIN/gm-submit" -t 1000 -f fast -h "$s1ip" \
		    "job$n" >"$d/out" 2>>"$d/submit.err" &&
		    [ "$(cat "$d/out")" = "job$n" ]; then
			ok=$((ok + 1))
		fi
	done
	t1=$(now_ms)
	figures "s2 cut ($when gm-work started): $ok of $n jobs on s1 done" \
	    "within their 1 s while gm-work tried s2 twice more, in" \
	    "$((t1 - t0)) ms"
	[ "$(attempts "$d/work.err" "$s2ip")" -ge $((c0 + 2)) ]
	run cat "$d/submit.err"
	assert_output ""
	[ "$n" -gt 0 ]
	[ "$ok" = "$n" ]
	run grep -c "lost connection\|reconnected" "$d/work.err"
	assert_output "$([ "$when" = after ] && echo 1 || echo 0)"
}

# attempts FILE ADDR: how many attempts to connect to ADDR gm-work -v
# logged as failed in FILE.
attempts() {
	grep -c "cannot connect to $2" "$1" || true
}

# workers HOST FUNC: the workers able to do FUNC on HOST's server, from c.
workers() {
	netns_run c "$GM_BIN/gm-admin" -h "$(ip_of "$1"):4731" --raw status |
	    awk -v f="$2" -F '\t' '$1 == f { print $4 }'
}

@test "gm-work against two servers, one cut off before it starts: jobs on the other all finish within 1 s each while it tries the dead one twice more" {
	unreachable_peer before
}

@test "gm-work against two servers, one cut off while it runs: jobs on the other all finish within 1 s each while it tries the dead one twice more" {
	unreachable_peer after
}

@test "a name with an IPv6 and an IPv4 address, one of them dead: gm-work tries them in turn and registers" {
	local d=$BATS_TEST_TMPDIR ip4
	ip4=$(ip_of s1)
	# IPv6 on the bed too (2001:db8::/32, documentation addresses).
	ip -n "$(netns_field s1 2)" addr add 2001:db8::1/64 dev eth0 nodad
	ip -n "$(netns_field w 2)" addr add 2001:db8::2/64 dev eth0 nodad
	# Nobody has 2001:db8::99 nor .250: connecting there gets no answer.
	netns_names w "2001:db8::99 dead6" "$ip4 dead6" \
	    "2001:db8::1 dead4" "$NETNS_NET.250 dead4"
	netns_spawn s1 "$GM_BIN/gm-server" -L "$ip4" -L 2001:db8::1 -p 4732 \
	    --journal none -l "$d/s1.log"
	wait_until 20 netns_connect c "$ip4" 4732
	netns_spawn w sh -c "exec '$GM_BIN/gm-work' -v \
	    -h dead6:4732,dead4:4732 -f named 2>'$d/work.err'"
	wait_until 30 eval '[ "$(netns_run c "$GM_BIN/gm-admin" \
	    -h "$ip4:4732" --raw status |
	    awk -F "\t" "\$1 == \"named\" { print \$4 }")" = 2 ]'
	run netns_run c "$GM_BIN/gm-submit" -f named -h "$ip4:4732" hello
	assert_output hello
	# Each name connected at the first attempt (with -v, a failed one
	# says "cannot connect").
	run grep "connect" "$d/work.err"
	assert_output --regexp '^gm-work: connected to dead[46]:4732
gm-work: connected to dead[46]:4732$'
	run grep -c "connected to dead6:4732" "$d/work.err"
	assert_output 1
	# One connection over IPv6 and one over IPv4: each name has both,
	# so one of them had its dead address tried first, whatever the
	# order.
	run netns_run c "$GM_BIN/gm-admin" -h "$ip4:4732" --raw workers
	assert_output --partial " 2001:db8::2 "
	assert_output --partial " $(ip_of w) "
	ip -n "$(netns_field s1 2)" addr del 2001:db8::1/64 dev eth0
	ip -n "$(netns_field w 2)" addr del 2001:db8::2/64 dev eth0
}
