#!/usr/bin/env bats
# gm-submit with several servers: spreading, unique ids, fail-over.
# Where gm-submit differs from `gearman` on purpose, the test runs both.

bats_require_minimum_version 1.5.0
load helper
load 30-tools-helper

setup_file() {
	server_start a
	server_start b
	test_worker "$PORT_a" echo echo
	test_worker "$PORT_b" echo echo
	port_hold
	DEAD=$HELD_PORT
	export PORT PORT_a PORT_b DEAD
}

teardown_file() {
	kill_started
}

@test "a dead server in the list is skipped; gearman fails on it" {
	run --separate-stderr bash -c "seq 20 | gm-submit -n -f echo \
	    -h 127.0.0.1:$DEAD,127.0.0.1:$PORT_a"
	[ "$status" -eq 0 ]
	[ "$output" = "$(seq 20)" ]
	[ -z "$stderr" ]
	run --separate-stderr env GEARMAN_SERVER="127.0.0.1:$DEAD,127.0.0.1:$PORT_a" \
	    gearman -f echo x
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
	[[ "$stderr" == *GEARMAN_* ]]
}

@test "-v names the server that could not be reached" {
	run --separate-stderr gm-submit -v -f echo \
	    -h "127.0.0.1:$DEAD" -h "127.0.0.1:$PORT_a" x
	[ "$status" -eq 0 ]
	[ "$output" = "x" ]
	[[ "${stderr_lines[0]}" == "gm-submit: 127.0.0.1:$DEAD: Connection refused" ]]
}

@test "every server dead: exit 3" {
	port_hold
	run --separate-stderr gm-submit -f echo \
	    -h "127.0.0.1:$DEAD,127.0.0.1:$HELD_PORT" x
	[ "$status" -eq 3 ]
	[ "$stderr" = "gm-submit: no server reachable" ]
}

@test "jobs are spread over the live servers" {
	run bash -c "seq 10 | gm-submit -b -n -f spread \
	    -h 127.0.0.1:$PORT_a,127.0.0.1:$PORT_b"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 10 ]
	local na nb
	na=$(status_total "$PORT_a" spread)
	nb=$(status_total "$PORT_b" spread)
	[ $((na + nb)) -eq 10 ]
	[ "$na" -gt 0 ] && [ "$nb" -gt 0 ]
}

@test "equal unique ids meet on one server whatever the -h order" {
	gm-submit -b -u same-id -f uq -h "127.0.0.1:$PORT_a,127.0.0.1:$PORT_b" x
	gm-submit -b -u same-id -f uq -h "127.0.0.1:$PORT_b,127.0.0.1:$PORT_a" y
	local na nb
	na=$(status_total "$PORT_a" uq)
	nb=$(status_total "$PORT_b" uq)
	[ $((na + nb)) -eq 1 ]
}

@test "different unique ids are spread by their hash" {
	run bash -c "seq 40 | gm-submit -b -n -u many -f uq2 \
	    -h 127.0.0.1:$PORT_a,127.0.0.1:$PORT_b"
	[ "$status" -eq 0 ]
	local na nb
	na=$(status_total "$PORT_a" uq2)
	nb=$(status_total "$PORT_b" uq2)
	[ $((na + nb)) -eq 40 ]
	[ "$na" -gt 0 ] && [ "$nb" -gt 0 ]
}

@test "server dies mid-job: the job is resubmitted to another (-v says so)" {
	server_start c
	server_start d
	test_worker "$PORT_c" hold mid
	test_worker "$PORT_d" echo mid
	gm-submit -v -f mid -h "127.0.0.1:$PORT_c,127.0.0.1:$PORT_d" payload \
	    >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	local pid=$!
	# the first server holds the job
	wait_until 15 eval '[ "$(admin "$PORT_c" status |
	    awk -F "\t" "\$1 == \"mid\" { print \$3 }")" = 1 ]'
	server_stop c KILL
	local st=0
	wait "$pid" || st=$?
	[ "$st" -eq 0 ]
	[ "$(cat "$BATS_TEST_TMPDIR/out")" = "payload" ]
	grep -qxF "gm-submit: 127.0.0.1:$PORT_c: connection closed by the server; resubmitting 1 job" \
	    "$BATS_TEST_TMPDIR/err"
	server_stop d
}

@test "server dies mid-job with nowhere to go: exit 3; gearman exits 0" {
	server_start e
	test_worker "$PORT_e" hold mid2
	gm-submit -f mid2 -h "127.0.0.1:$PORT_e" x \
	    >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	local pid=$!
	env GEARMAN_SERVER="127.0.0.1:$PORT_e" gearman -f mid2 y \
	    >"$BATS_TEST_TMPDIR/gout" 2>"$BATS_TEST_TMPDIR/gerr" 3>&- &
	local gpid=$!
	wait_until 15 eval '[ "$(admin "$PORT_e" status |
	    awk -F "\t" "\$1 == \"mid2\" { print \$3 }")" = 2 ]'
	server_stop e KILL
	local st=0 gst=0
	wait "$pid" || st=$?
	wait "$gpid" || gst=$?
	[ "$st" -eq 3 ]
	[ "$(cat "$BATS_TEST_TMPDIR/err")" = "$(printf 'gm-submit: 127.0.0.1:%s: connection closed by the server\ngm-submit: no server reachable' "$PORT_e")" ]
	[ "$gst" -eq 0 ]
	grep -q GEARMAN_LOST_CONNECTION "$BATS_TEST_TMPDIR/gerr"
}

@test "a lost server that is back takes the work when no other is left" {
	server_start f
	server_start g
	test_worker "$PORT_f" hold rc
	test_worker "$PORT_g" hold rc
	gm-submit -v -f rc -h "127.0.0.1:$PORT_f,127.0.0.1:$PORT_g" payload \
	    >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	local pid=$!
	wait_until 15 eval '[ "$(admin "$PORT_f" status |
	    awk -F "\t" "\$1 == \"rc\" { print \$3 }")" = 1 ]'
	server_stop f KILL
	# Held while it is down, so that it comes back on the same port.
	port_hold "$PORT_f"
	wait_until 15 eval '[ "$(admin "$PORT_g" status |
	    awk -F "\t" "\$1 == \"rc\" { print \$3 }")" = 1 ]'
	server_start f
	test_worker "$PORT_f" echo rc
	server_stop g KILL
	local st=0
	wait "$pid" || st=$?
	[ "$st" -eq 0 ]
	[ "$(cat "$BATS_TEST_TMPDIR/out")" = "payload" ]
	grep -qxF "gm-submit: 127.0.0.1:$PORT_f: connected again" \
	    "$BATS_TEST_TMPDIR/err"
	server_stop f
}

@test "--probe 1: a foreground job running past the probe's 2 s completes; the server answers ECHO_REQ meanwhile" {
	local pid b
	test_worker "$PORT_b" gate2 g2
	gm-submit --probe 1 -f g2 -h "127.0.0.1:$PORT_b" one \
	    >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	wait_until 20 eval '[ "$(status_total "$PORT_b" g2)" = 1 ]'
	# Two ECHO_RES "probe" (17 bytes each) while the job is held.
	b=$(tcp_in "$pid" "$PORT_b")
	wait_until 20 eval '[ "$(tcp_in "$pid" "$PORT_b")" -ge $((b + 34)) ]'
	# The second job releases both.
	run gm-submit --probe 0 -f g2 -h "127.0.0.1:$PORT_b" two
	assert_success
	assert_output two
	wait "$pid"
	run cat "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/err"
	assert_output one
}

@test "--probe takes whole seconds from 0 to 3600" {
	run --separate-stderr gm-submit --probe 3601 -f echo x
	[ "$status" -eq 2 ]
	[ "$stderr" = "gm-submit: --probe 3601: too large" ]
	run --separate-stderr gm-submit --probe 0 -f echo -h "127.0.0.1:$PORT_a" x
	[ "$status" -eq 0 ]
	[ "$output" = x ]
}
