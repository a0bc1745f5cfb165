#!/usr/bin/env bats
# Compatibility: the worker side of the binary protocol (protocol.md §4,
# §5.4, §5.8): registration, grabbing, sleeping and wake-ups, requeues and
# retries.  Every test starts a fresh server, so handles count from 1.

load helper

setup() {
	server_start s
}

teardown() {
	kill_started
}

# Script lines: connections 2, 3 and 4 can do f and go to sleep.
three_sleepers() {
	local c
	for c in 2 3 4; do
		printf '@%s REQ CAN_DO f\n@%s REQ PRE_SLEEP\n@%s SYNC\n' \
		    "$c" "$c" "$c"
	done
}

# Script lines: a background job of f with payload $1, then every
# connection's replies up to then (the sleepers' NOOPs among them).
submit_synced() {
	bg_jobs "$1"
	printf '%s\n' SYNC '@2 SYNC' '@3 SYNC' '@4 SYNC'
}

# Script lines: a background job of f for each payload, in order.
bg_jobs() {
	printf 'REQ SUBMIT_JOB_BG f "" %s\nWAIT 1\n' "$@"
}

# Script lines: connection $1 can do f and grabs $2 jobs, one at a time.
grab_n() {
	local i
	printf '@%s REQ CAN_DO f\n' "$1"
	for ((i = 0; i < $2; i++)); do
		printf '@%s REQ GRAB_JOB\n@%s WAIT 1\n' "$1" "$1"
	done
}

# Nine background jobs of fa and fb at every priority, then one worker
# that can do both grabs ten times.  Prints the payloads in the order it
# got them (NO_JOB last).  Arguments go to raw (-p PORT).
grab_order() {
	local out
	out=$(raw "$@" <<'EOF'
REQ SUBMIT_JOB_HIGH_BG fa "" a-high1
WAIT 1
REQ SUBMIT_JOB_BG fa "" a-norm1
WAIT 1
REQ SUBMIT_JOB_LOW_BG fa "" a-low1
WAIT 1
REQ SUBMIT_JOB_HIGH_BG fb "" b-high1
WAIT 1
REQ SUBMIT_JOB_BG fb "" b-norm1
WAIT 1
REQ SUBMIT_JOB_HIGH_BG fa "" a-high2
WAIT 1
REQ SUBMIT_JOB_BG fa "" a-norm2
WAIT 1
REQ SUBMIT_JOB_LOW_BG fa "" a-low2
WAIT 1
REQ SUBMIT_JOB_BG fb "" b-norm2
WAIT 1
@3 REQ CAN_DO fa
@3 REQ CAN_DO fb
@3 REQ GRAB_JOB
@3 REQ GRAB_JOB
@3 REQ GRAB_JOB
@3 REQ GRAB_JOB
@3 REQ GRAB_JOB
@3 REQ GRAB_JOB
@3 REQ GRAB_JOB
@3 REQ GRAB_JOB
@3 REQ GRAB_JOB
@3 REQ GRAB_JOB
@3 WAIT 10
EOF
	) || return
	grep '^@3' <<<"$out" | awk '{print $NF}' | tr '\n' ' '
}

@test "GRAB_JOB with nothing to do, or without CAN_DO, gets NO_JOB" {
	run raw <<'EOF'
REQ GRAB_JOB
WAIT 1
REQ GRAB_JOB_UNIQ
WAIT 1
REQ GRAB_JOB_ALL
WAIT 1
REQ PRE_SLEEP
SYNC
REQ SUBMIT_JOB_BG f "" x
WAIT 1
REQ GRAB_JOB
WAIT 1
REQ CAN_DO g
REQ GRAB_JOB
WAIT 1
EOF
	assert_success
	assert_output 'NO_JOB
NO_JOB
NO_JOB
JOB_CREATED H:HOST:1
NO_JOB
NO_JOB'
}

@test "GRAB_JOB with extra body bytes is still served" {
	run raw <<'EOF'
REQ SUBMIT_JOB_BG f "" x
WAIT 1
REQ CAN_DO f
REQ GRAB_JOB abcd
WAIT 1
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
JOB_ASSIGN H:HOST:1 f x'
}

@test "one connection may hold several jobs at once" {
	run raw <<'EOF'
REQ SUBMIT_JOB_BG f "" a
WAIT 1
REQ SUBMIT_JOB_BG f "" b
WAIT 1
@2 REQ CAN_DO f
@2 REQ GRAB_JOB
@2 WAIT 1
@2 REQ GRAB_JOB
@2 WAIT 1
ADMIN status
@2 REQ WORK_COMPLETE H:HOST:2 rb
@2 REQ WORK_COMPLETE H:HOST:1 ra
@2 SYNC
ADMIN status
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
JOB_CREATED H:HOST:2
@2 JOB_ASSIGN H:HOST:1 f a
@2 JOB_ASSIGN H:HOST:2 f b
| f\t2\t2\t1
| .
| f\t0\t0\t1
| .'
}

@test "PRE_SLEEP: one NOOP per sleep, cleared by the next grab" {
	run raw <<'EOF'
@2 REQ CAN_DO f
@2 REQ PRE_SLEEP
@2 SYNC
REQ SUBMIT_JOB_BG f "" a
WAIT 1
@2 WAIT 1
REQ SUBMIT_JOB_BG f "" b
WAIT 1
@2 SYNC
@2 REQ GRAB_JOB
@2 WAIT 1
@2 REQ PRE_SLEEP
@2 WAIT 1
@2 REQ GRAB_JOB
@2 WAIT 1
@2 REQ GRAB_JOB
@2 WAIT 1
@2 REQ PRE_SLEEP
@2 SYNC
REQ SUBMIT_JOB_BG f "" c
WAIT 1
@2 WAIT 1
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
@2 NOOP
JOB_CREATED H:HOST:2
@2 JOB_ASSIGN H:HOST:1 f a
@2 NOOP
@2 JOB_ASSIGN H:HOST:2 f b
@2 NO_JOB
JOB_CREATED H:HOST:3
@2 NOOP'
}

@test "workers that did not PRE_SLEEP, or sleep on other functions, get no NOOP" {
	run raw <<'EOF'
@2 REQ CAN_DO f
@3 REQ CAN_DO g
@3 REQ PRE_SLEEP
@3 SYNC
REQ SUBMIT_JOB_BG f "" a
WAIT 1
@2 SYNC
@3 SYNC
@2 REQ GRAB_JOB
@2 WAIT 1
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
@2 JOB_ASSIGN H:HOST:1 f a'
}

@test "sleeping workers are woken: gm as many as jobs, gearmand all of them" {
	run raw < <(three_sleepers; submit_synced a)
	assert_success
	local noops
	noops=$(grep -c NOOP <<<"$output")
	assert_line --index 0 'JOB_CREATED H:HOST:1'
	if is_gm; then
		# protocol.md §4.2: gm wakes only as many as there are jobs.
		[ "$noops" -eq 1 ]
	else
		[ "$noops" -eq 3 ]
	fi
	[ "${#lines[@]}" -eq $((noops + 1)) ]
}

@test "CAN_DO twice counts twice; CANT_DO and RESET_ABILITIES remove all" {
	run raw <<'EOF'
@2 REQ SET_CLIENT_ID w2
@2 REQ CAN_DO f
@2 REQ CAN_DO f
@2 REQ CAN_DO g
@2 REQ CAN_DO_TIMEOUT h 5000
@2 SYNC
ADMINSORT status
ADMINSORT workers
@2 REQ CANT_DO f
@2 SYNC
ADMINSORT status
@2 REQ RESET_ABILITIES
@2 SYNC
ADMINSORT status
ADMINSORT workers
EOF
	assert_success
	# The admin connection lists itself; fds differ, so drop them (rows
	# are sorted by fd: the worker connected first).
	local out
	out=$(sed -E 's/^\| [0-9]+ /| FD /' <<<"$output")
	assert_equal "$out" '| f\t0\t0\t2
| g\t0\t0\t1
| h\t0\t0\t1
| .
| FD 127.0.0.1 w2 : h g f f
| FD 127.0.0.1 - :
| .
| f\t0\t0\t0
| g\t0\t0\t1
| h\t0\t0\t1
| .
| f\t0\t0\t0
| g\t0\t0\t0
| h\t0\t0\t0
| .
| FD 127.0.0.1 w2 :
| FD 127.0.0.1 - :
| .'
}

@test "SET_CLIENT_ID with spaces shows in workers" {
	run raw <<'EOF'
@2 REQ SET_CLIENT_ID "my worker 1"
@2 REQ CAN_DO rev
@2 SYNC
@3 SYNC
ADMINSORT workers
EOF
	assert_success
	local out
	out=$(sed -E 's/^\| [0-9]+ /| FD /' <<<"$output" | sort)
	assert_equal "$out" '| .
| FD 127.0.0.1 - :
| FD 127.0.0.1 - :
| FD 127.0.0.1 my worker 1 : rev'
}

@test "CANT_DO of a running job requeues it; the late WORK_COMPLETE is refused" {
	run raw <<'EOF'
REQ SUBMIT_JOB f "" a
WAIT 1
@2 REQ CAN_DO f
@2 REQ GRAB_JOB
@2 WAIT 1
@2 REQ WORK_STATUS %H 1 2
@2 REQ CANT_DO f
@2 REQ WORK_COMPLETE %H late
@2 WAIT 1
WAIT 1
REQ GET_STATUS H:HOST:1
WAIT 1
@3 REQ CAN_DO f
@3 REQ GRAB_JOB
@3 WAIT 1
@3 REQ WORK_COMPLETE %H good
WAIT 1
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
@2 JOB_ASSIGN H:HOST:1 f a
@2 ERROR JOB_NOT_FOUND "Job given in work result not found"
WORK_STATUS H:HOST:1 1 2
STATUS_RES H:HOST:1 1 0 0 0
@3 JOB_ASSIGN H:HOST:1 f a
WORK_COMPLETE H:HOST:1 good'
}

@test "functions of one worker: gm global priority, gearmand per function" {
	run grab_order
	assert_success
	local order=$output
	if is_gm; then
		# DESIGN.md: highest priority across the functions, oldest first.
		assert_equal "$order" 'a-high1 b-high1 a-high2 a-norm1 b-norm1 a-norm2 b-norm2 a-low1 a-low2 NO_JOB '
	else
		# protocol.md §3.3: the latest registered function first.
		assert_equal "$order" 'b-high1 b-norm1 b-norm2 a-high1 a-high2 a-norm1 a-norm2 a-low1 a-low2 NO_JOB '
	fi
}

@test "a worker that disconnects requeues its job at the tail" {
	run raw < <(bg_jobs A B; grab_n 2 1; echo '@2 CLOSE')
	assert_success
	wait_status f '2 0 0'
	run raw < <(grab_n 3 2)
	assert_success
	assert_output '@3 JOB_ASSIGN H:HOST:2 f B
@3 JOB_ASSIGN H:HOST:1 f A'
}

@test "requeued job: progress reset, retries shown in show jobs" {
	run raw <<'EOF'
REQ SUBMIT_JOB_BG f "" A
WAIT 1
@2 REQ CAN_DO f
@2 REQ GRAB_JOB
@2 WAIT 1
@2 REQ WORK_STATUS %H 3 4
@2 SYNC
@2 CLOSE
EOF
	assert_success
	wait_status f '1 0 0'
	run raw <<'EOF'
REQ GET_STATUS H:HOST:1
WAIT 1
ADMIN show jobs
EOF
	assert_success
	assert_output 'STATUS_RES H:HOST:1 1 0 0 0
| H:HOST:1\t1\t0\t1
| .'
}

@test "jobs held by one worker are requeued most recently grabbed first" {
	run raw < <(bg_jobs A B C; grab_n 2 2; echo '@2 CLOSE')
	assert_success
	wait_status f '3 0 0'
	run raw < <(grab_n 3 3)
	assert_success
	assert_output '@3 JOB_ASSIGN H:HOST:3 f C
@3 JOB_ASSIGN H:HOST:2 f B
@3 JOB_ASSIGN H:HOST:1 f A'
}

@test "the attached client is not told of a requeue and gets the next worker's result" {
	run raw <<'EOF'
REQ SUBMIT_JOB f "" A
WAIT 1
@2 REQ CAN_DO f
@2 REQ GRAB_JOB
@2 WAIT 1
@2 CLOSE
@3 REQ CAN_DO f
@3 POLL JOB_ASSIGN REQ GRAB_JOB
@3 REQ WORK_COMPLETE %H second
WAIT 1
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
@2 JOB_ASSIGN H:HOST:1 f A
@3 JOB_ASSIGN H:HOST:1 f A
WORK_COMPLETE H:HOST:1 second'
}

@test "-j 2: a job is dropped after two attempts, its client gets WORK_FAIL" {
	server_start j -j 2
	run raw -p "$PORT_j" <<'EOF'
REQ SUBMIT_JOB f "" fg
WAIT 1
@4 REQ SUBMIT_JOB_BG g "" bg
@4 WAIT 1
@2 REQ CAN_DO f
@2 REQ CAN_DO g
@2 REQ GRAB_JOB
@2 WAIT 1
@2 REQ GRAB_JOB
@2 WAIT 1
@2 CLOSE
@3 REQ CAN_DO f
@3 REQ CAN_DO g
@3 POLL JOB_ASSIGN REQ GRAB_JOB
@3 POLL JOB_ASSIGN REQ GRAB_JOB
@3 CLOSE
WAIT 1
@5 REQ CAN_DO f
@5 REQ CAN_DO g
@5 REQ GRAB_JOB
@5 WAIT 1
ADMINSORT status
EOF
	assert_success
	assert_output --regexp '^JOB_CREATED H:HOST:1
@4 JOB_CREATED H:HOST:2
@2 JOB_ASSIGN H:HOST:[12] [fg] (fg|bg)
@2 JOB_ASSIGN H:HOST:[12] [fg] (fg|bg)
@3 JOB_ASSIGN H:HOST:[12] [fg] (fg|bg)
@3 JOB_ASSIGN H:HOST:[12] [fg] (fg|bg)
WORK_FAIL H:HOST:1
@5 NO_JOB
\| f\\t0\\t0\\t1
\| g\\t0\\t0\\t1
\| \.$'
	if is_gm; then
		# gm logs each job that runs out of attempts: the foreground
		# one is dropped, the background one kept in the failed list
		# (both logged before the replies above).
		grep -qF "job $(host_prefix "$PORT_j"):1 (function f) dropped after 2 attempts (last: " \
		    "$LOG_j"
		grep -qF "job $(host_prefix "$PORT_j"):2 (function g) failed 2 times, kept in the failed list: retries exhausted after 2 attempts (last: " \
		    "$LOG_j"
	fi
}

@test "-j 1 never retries" {
	server_start j -j 1
	run raw -p "$PORT_j" <<'EOF'
REQ SUBMIT_JOB f "" fg
WAIT 1
@2 REQ CAN_DO f
@2 REQ GRAB_JOB
@2 WAIT 1
@2 CLOSE
WAIT 1
ADMIN status
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
@2 JOB_ASSIGN H:HOST:1 f fg
WORK_FAIL H:HOST:1
| f\t0\t0\t0
| .'
}

@test "CAN_DO_TIMEOUT requeues a job that overruns (at least 1 s)" {
	run raw -t 10000 <<'EOF'
REQ SUBMIT_JOB f "" slow
WAIT 1
@2 REQ CAN_DO_TIMEOUT f 200
@2 REQ GRAB_JOB
@2 WAIT 1
@3 REQ CAN_DO f
@3 POLL JOB_ASSIGN REQ GRAB_JOB
@2 REQ WORK_COMPLETE H:HOST:1 late
@2 WAIT 1
@3 REQ WORK_COMPLETE H:HOST:1 ok
WAIT 1
ADMIN status
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
@2 JOB_ASSIGN H:HOST:1 f slow
@3 JOB_ASSIGN H:HOST:1 f slow
@2 ERROR JOB_NOT_FOUND "Job given in work result not found"
WORK_COMPLETE H:HOST:1 ok
| f\t0\t0\t2
| .'
}

@test "CAN_DO_TIMEOUT with a non-numeric or negative timeout registers without one" {
	run raw <<'EOF'
@2 REQ CAN_DO_TIMEOUT f abc
@2 REQ CAN_DO_TIMEOUT g -5
@2 SYNC
ADMINSORT status
EOF
	assert_success
	assert_output '| f\t0\t0\t1
| g\t0\t0\t1
| .'
}

@test "ALL_YOURS is answered with INVALID_COMMAND" {
	run raw <<'EOF'
REQ ALL_YOURS
WAIT 1
REQ ECHO_REQ still-open
WAIT 1
EOF
	assert_success
	assert_output 'ERROR INVALID_COMMAND "Command not expected"
ECHO_RES still-open'
}

@test "CAN_DO_TIMEOUT: a job completed in time is not requeued later (gm)" {
	# protocol.md §5.8/§11: gearmand's timer outlives the job and
	# corrupts its counters, so this runs against gm only.
	gm_only "gearmand 1.1.20 requeues a freed job (memory-unsafe)"
	run raw -t 10000 <<'EOF'
REQ SUBMIT_JOB_BG f "" quick
WAIT 1
REQ SUBMIT_JOB_BG g "" clock
WAIT 1
@2 REQ CAN_DO_TIMEOUT f 1000
@2 REQ GRAB_JOB
@2 WAIT 1
@2 REQ WORK_COMPLETE %H ok
@2 SYNC
@3 REQ CAN_DO_TIMEOUT g 1000
@3 REQ GRAB_JOB
@3 WAIT 1
@4 REQ CAN_DO g
@4 POLL JOB_ASSIGN REQ GRAB_JOB
@2 REQ GRAB_JOB
@2 WAIT 1
@2 SYNC
ADMINSORT prioritystatus
ADMINSORT status
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
JOB_CREATED H:HOST:2
@2 JOB_ASSIGN H:HOST:1 f quick
@3 JOB_ASSIGN H:HOST:2 g clock
@4 JOB_ASSIGN H:HOST:2 g clock
@2 NO_JOB
| f\t0\t0\t0\t1
| g\t0\t0\t0\t2
| .
| f\t0\t0\t1
| g\t1\t1\t2
| .'
}

@test "-R: functions take turns (gearmand per function, gm within a priority)" {
	server_start r -R
	run grab_order -p "$PORT_r"
	assert_success
	local order=$output
	if is_gm; then
		# Highest priority first; among functions with work at that
		# priority the turn rotates, latest registered first.
		assert_equal "$order" 'b-high1 a-high1 a-high2 b-norm1 a-norm1 b-norm2 a-norm2 a-low1 a-low2 NO_JOB '
	else
		# protocol.md §4.3: each grab moves the function to the end.
		assert_equal "$order" 'b-high1 a-high1 b-norm1 a-high2 b-norm2 a-norm1 a-norm2 a-low1 a-low2 NO_JOB '
	fi
}

@test "-w 1: one NOOP per queued job among three sleepers" {
	server_start w -w 1
	run raw -p "$PORT_w" < <(three_sleepers; submit_synced a
	    echo 'ECHO --'; submit_synced b)
	assert_success
	# Each job wakes exactly one sleeper, and not the same one twice.
	local first second
	first=$(sed -n '2,/^--$/p' <<<"$output" | grep -c NOOP)
	second=$(sed -n '/^--$/,$p' <<<"$output" | grep -c NOOP)
	[ "$first" -eq 1 ] && [ "$second" -eq 1 ]
	[ "$(grep NOOP <<<"$output" | sort -u | wc -l)" -eq 2 ]
	assert_line --index 0 'JOB_CREATED H:HOST:1'
}
