#!/usr/bin/env bats
# gm-work: stopping.  SIGTERM drains, a second SIGTERM or SIGINT kills the
# running commands, whose jobs go back to the server.

bats_require_minimum_version 1.5.0
load helper
load 40-work-helper

# A command that records its start, then waits for a file.
waiter() {
	echo 'touch "$0.started"; while [ ! -e "$0" ]; do sleep 0.02; done;
	    echo finished'
}

@test "SIGTERM with nothing running exits 0 at once" {
	work_start w -f idle -- cat
	kill -TERM "$(work_pid w)"
	work_wait w
	[ "$WORK_STATUS" -eq 0 ]
	run cat "$(work_err w)"
	assert_output ""
}

@test "SIGINT with nothing running exits 0" {
	work_start w -f idle -- cat
	kill -INT "$(work_pid w)"
	work_wait w
	[ "$WORK_STATUS" -eq 0 ]
}

@test "SIGTERM: the running job finishes, its result is delivered, no new job is taken, exit 0" {
	go=$BATS_TEST_TMPDIR/go
	work_start w -f slow -- sh -c "$(waiter)" "$go"
	gm_client -f slow x >"$BATS_TEST_TMPDIR/out" 3>&- &
	client=$!
	term_running w "$go.started"
	submit_bg slow second >/dev/null
	pid_alive "$(work_pid w)"
	touch "$go"
	wait "$client"
	run cat "$BATS_TEST_TMPDIR/out"
	assert_output "finished"
	work_wait w
	[ "$WORK_STATUS" -eq 0 ]
	# The job submitted during the drain is still queued, for someone else.
	wait_until 10 workers_for slow "$PORT" -eq 0
	run admin status
	assert_line --regexp "^slow	1	0	0$"
}

# hang_start: worker w for hang, whose command starts a sleep that it
# waits for; the sleep's pid goes to the file $gc.
hang_start() {
	gc=$BATS_TEST_TMPDIR/gc
	work_start w -f hang -- sh -c 'sleep 300 & echo $! >"$0"; wait' "$gc"
}

@test "a second SIGTERM kills the command's process group and exits 3; the job is handed out again" {
	hang_start
	submit_bg hang x >/dev/null
	wait_until 20 test -s "$gc"
	kill -TERM "$(work_pid w)"
	wait_until 20 grep -q "SIGTERM: finishing" "$(work_err w)"
	kill -TERM "$(work_pid w)"
	work_wait w
	[ "$WORK_STATUS" -eq 3 ]
	grep -qx "gm-work: SIGTERM: killing 1 running job" "$(work_err w)"
	wait_until 10 eval '! kill -0 "$(cat "$gc")" 2>/dev/null'
	wait_until 10 workers_for hang "$PORT" -eq 0
	run admin status
	assert_line --regexp "^hang	1	0	0$"
}

@test "SIGINT kills the running command at once and exits 3; a waiting client gets the rerun's result" {
	hang_start
	gm_client -f hang x >"$BATS_TEST_TMPDIR/out" 3>&- &
	client=$!
	wait_until 20 test -s "$gc"
	kill -INT "$(work_pid w)"
	work_wait w
	[ "$WORK_STATUS" -eq 3 ]
	grep -qx "gm-work: SIGINT: killing 1 running job" "$(work_err w)"
	wait_until 10 eval '! kill -0 "$(cat "$gc")" 2>/dev/null'
	# The job went back to the queue; the next worker runs it.
	work_start w2 -f hang -- echo rerun
	wait "$client"
	run cat "$BATS_TEST_TMPDIR/out"
	assert_output "rerun"
}

@test "a command that ignores SIGTERM is killed after a grace period" {
	work_start w -f stubborn -- sh -c \
	    'trap "" TERM; touch "$0"; while :; do sleep 0.05; done' \
	    "$BATS_TEST_TMPDIR/started"
	submit_bg stubborn x >/dev/null
	wait_until 20 test -e "$BATS_TEST_TMPDIR/started"
	kill -INT "$(work_pid w)"
	work_wait w
	[ "$WORK_STATUS" -eq 3 ]
}

@test "-j 2 and SIGTERM: both running jobs finish before the exit" {
	go=$BATS_TEST_TMPDIR/go
	work_start w -j 2 -f slow -- sh -c "$(waiter)" "$go"
	gm_client -f slow a >"$BATS_TEST_TMPDIR/out1" 3>&- &
	c1=$!
	gm_client -f slow b >"$BATS_TEST_TMPDIR/out2" 3>&- &
	c2=$!
	wait_until 20 eval '[ "$(admin status | awk -F"\t" '\''$1 == "slow" { print $3 }'\'')" = 2 ]'
	kill -TERM "$(work_pid w)"
	wait_until 20 grep -qx \
	    "gm-work: SIGTERM: finishing 2 running jobs, then exiting" \
	    "$(work_err w)"
	touch "$go"
	wait "$c1"
	wait "$c2"
	[ "$(cat "$BATS_TEST_TMPDIR/out1")" = finished ]
	[ "$(cat "$BATS_TEST_TMPDIR/out2")" = finished ]
	work_wait w
	[ "$WORK_STATUS" -eq 0 ]
}
