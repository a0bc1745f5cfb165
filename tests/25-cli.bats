#!/usr/bin/env bats
# Compatibility: the `gearman` CLI and `gearadmin` (gearman-tools 1.1.20)
# against the server, as client and as worker (cli.md).  Every test starts
# a fresh server; workers are spawned in the background and killed after.

load helper
bats_require_minimum_version 1.5.0

setup() {
	server_start s
	export PORT GEARMAN_SERVER="127.0.0.1:$PORT"
}

teardown() {
	spawn_kill
	kill_started
}

# A `gearman -w` worker for FUNC running COMMAND, registered before return.
worker() {
	local f=$1
	shift
	spawn gearman -w -h 127.0.0.1 -p "$PORT" -f "$f" -- "$@"
	wait_workers "$f" 1
}

# A raw worker for FUNC that grabs one job and holds it until killed.
hold_worker() {
	printf 'REQ CAN_DO %s\nPOLL JOB_ASSIGN REQ GRAB_JOB\nCLOSED\n' "$1" \
	    >"$BATS_TEST_TMPDIR/hold.$1"
	spawn "$GM_BUILD/tests/tools/gmraw" -p "$PORT" -t 60000 \
	    "$BATS_TEST_TMPDIR/hold.$1" >/dev/null
	wait_workers "$1" 1
}

# gearadmin against our server.
gadmin() {
	gearadmin -h 127.0.0.1 -p "$PORT" "$@"
}

# A raw worker for FUNC that sends the script lines given on stdin (with %H
# for the handle) after it grabs one job.
raw_worker() {
	local f=$1 script=$BATS_TEST_TMPDIR/worker.$1
	{
		printf 'REQ CAN_DO %s\nPOLL JOB_ASSIGN REQ GRAB_JOB\n' "$f"
		cat
		printf 'SYNC\n'
	} >"$script"
	spawn "$GM_BUILD/tests/tools/gmraw" -p "$PORT" -t 30000 "$script" \
	    >/dev/null
	wait_workers "$f" 1
}

@test "gearman: a payload from stdin through 'gearman -w -- rev'" {
	worker rev rev
	run gearman -f rev <<<'hello world'
	assert_success
	assert_output 'dlrow olleh'
}

@test "gearman: one job per argument, results concatenated" {
	worker rev rev
	run bash -c 'gearman -f rev abc def | od -An -c | tr -s " "'
	assert_success
	assert_output ' c b a f e d'
}

@test "gearman: binary payloads pass unchanged both ways" {
	worker cat cat
	run bash -c 'printf "a\0b\377c" | gearman -f cat | od -An -tx1'
	assert_success
	assert_output ' 61 00 62 ff 63'
}

@test "gearman: -n submits one job per line" {
	worker upper tr a-z A-Z
	run bash -c "printf 'one\ntwo\n' | gearman -n -f upper"
	assert_success
	assert_output $'ONE\nTWO'
}

@test "gearman: -N drops the last byte of each line" {
	worker upper tr a-z A-Z
	run bash -c "printf 'one\ntwo' | gearman -N -f upper"
	assert_success
	assert_output 'ONETW'
}

@test "gearman: two functions with -P prefix each result" {
	worker rev rev
	worker upper tr a-z A-Z
	run gearman -f rev -f upper -P hello
	assert_success
	[ "$output" = 'rev: ollehupper: HELLO' ] ||
	    [ "$output" = 'upper: HELLOrev: olleh' ]
}

@test "gearman: -b queues a background job, -v prints its handle" {
	run gearman -b -v -f nobody job1
	assert_success
	assert_output "Task created: $(host_prefix):1"
	run admin status
	assert_output $'nobody\t1\t0\t0\n.'
}

@test "gearman: -u gives every job the same unique, so they coalesce" {
	run gearman -b -u fixed -f nobody job2
	assert_success
	run gearman -b -u fixed -f nobody job3
	assert_success
	run admin status
	assert_output $'nobody\t1\t0\t0\n.'
	run admin 'show unique jobs'
	assert_output $'fixed\n.'
}

@test "gearman: -I and -L set the priority; a worker drains high, normal, low" {
	gearman -b -L -f p lo
	gearman -b -f p no
	gearman -b -I -f p hi
	run admin prioritystatus
	assert_output $'p\t1\t1\t1\t0\n.'
	run timeout 20 gearman -w -c 3 -f p
	assert_success
	assert_output 'hinolo'
	# The server sees the worker leave after it has exited.
	wait_status p '0 0 0'
	run admin status
	assert_output $'p\t0\t0\t0\n.'
}

@test "gearman: a failing command gives its output, 'Job failed' and exit 1" {
	worker fails sh -c 'echo partial; exit 3'
	run --separate-stderr gearman -f fails x
	assert_failure 1
	assert_output 'partial'
	[ "$stderr" = 'Job failed' ]
}

@test "gearman: WORK_STATUS, WORK_DATA and WORK_WARNING reach the client" {
	raw_worker fancy <<'EOF'
REQ WORK_STATUS %H 1 4
REQ WORK_DATA %H d1
REQ WORK_WARNING %H w1
REQ WORK_STATUS %H 3 4
REQ WORK_COMPLETE %H done
EOF
	run --separate-stderr gearman -f fancy x
	assert_success
	assert_output $'d1done25% Complete\n75% Complete'
	[ "$stderr" = 'w1' ]
}

@test "gearman: WORK_FAIL from a raw worker gives exit 1" {
	raw_worker f <<'EOF'
REQ WORK_FAIL %H
EOF
	run --separate-stderr gearman -f f x
	assert_failure 1
	assert_output ''
	[ "$stderr" = 'Job failed' ]
}

@test "gearman: an exception without --exceptions: gm fails the job, gearmand hangs" {
	raw_worker exc <<'EOF'
REQ WORK_EXCEPTION %H boom
EOF
	# gm answers at once (a generous deadline costs nothing); gearmand
	# never does, so its run ends at a short one.
	run --separate-stderr gearman -t "$(is_gm && echo 30000 || echo 3000)" \
	    -f exc x
	if is_gm; then
		# protocol.md §11: a WORK_FAIL libgearman recognises.
		assert_failure 1
		[ "$stderr" = 'Job failed' ]
	else
		# The client never sees the end of the job (cli.md §1.5).
		assert_success
		[[ $stderr == *GEARMAN_TIMEOUT* ]]
	fi
	assert_output ''
}

@test "gearman: an exception with a server run with --exceptions goes to stderr" {
	server_start e --exceptions
	export GEARMAN_SERVER="127.0.0.1:$PORT_e"
	PORT=$PORT_e raw_worker exc <<'EOF'
REQ WORK_EXCEPTION %H boom
EOF
	run --separate-stderr gearman -t 10000 -f exc x
	assert_success
	assert_output ''
	[ "$stderr" = 'boom' ]
}

@test "gearman: a full queue is reported on stderr (exit 0, as gearman does)" {
	admin 'create function full'
	admin 'maxqueue full 1'
	gearman -b -f full one
	run --separate-stderr gearman -b -f full two
	assert_success
	[[ $stderr == *'QUEUE_ERROR:Job queue is full'* ]]
	run admin status
	assert_output $'full\t1\t0\t0\n.'
}

@test "gearman -w without a command prints the payload and returns nothing" {
	spawn gearman -w -f echoonly >"$BATS_TEST_TMPDIR/w.out"
	wait_workers echoonly 1
	run gearman -f echoonly payload
	assert_success
	assert_output ''
	wait_until 20 grep -q payload "$BATS_TEST_TMPDIR/w.out"
	[ "$(cat "$BATS_TEST_TMPDIR/w.out")" = payload ]
}

@test "gearman -w -c 1 exits after one job" {
	gearman -b -f once a
	gearman -b -f once b
	run timeout 20 gearman -w -c 1 -f once
	assert_success
	assert_output a
	# The server sees the worker leave after it has exited.
	wait_status once '1 0 0'
	run admin status
	assert_output $'once\t1\t0\t0\n.'
}

@test "gearman -w registers every -f and shows in workers without an id" {
	worker rev rev
	spawn gearman -w -f a1 -f a2 -- cat
	wait_workers a2 1
	run bash -c 'gearadmin -h 127.0.0.1 -p $PORT --workers | sed -E "s/^[0-9]+ /FD /" | sort'
	assert_success
	assert_output --regexp '^\.
FD 127\.0\.0\.1 - :
FD 127\.0\.0\.1 - : (a1 a2|a2 a1)
FD 127\.0\.0\.1 - : rev$'
}

@test "gearadmin: --status, --priority-status, --show-jobs, --show-unique-jobs" {
	gearman -b -u u1 -f f1 x
	gearman -b -I -u u2 -f f2 y
	run bash -c 'gearadmin -h 127.0.0.1 -p $PORT --status | sort'
	assert_success
	assert_output $'.\nf1\t1\t0\t0\nf2\t1\t0\t0'
	run bash -c 'gearadmin -h 127.0.0.1 -p $PORT --priority-status | sort'
	assert_output $'.\nf1\t0\t1\t0\t0\nf2\t1\t0\t0\t0'
	run bash -c "gearadmin -h 127.0.0.1 -p $PORT --show-jobs | sed 's/^$(host_prefix)/H:HOST/' | sort"
	assert_output $'.\nH:HOST:1\t0\t0\t1\nH:HOST:2\t0\t0\t1'
	run bash -c 'gearadmin -h 127.0.0.1 -p $PORT --show-unique-jobs | sort'
	assert_output $'.\nu1\nu2'
}

@test "gearadmin: --server-version, --getpid, --server-verbose" {
	run gadmin --getpid
	assert_success
	assert_output "$PID_s"
	run gadmin --server-version
	assert_success
	if is_gm; then
		assert_output --regexp '^[0-9]+\.[0-9]+\.[0-9]+[^ ]*$'
	else
		assert_output '1.1.20+ds'
	fi
	run gadmin --server-verbose
	assert_success
	assert_output --regexp '^(FATAL|ALERT|CRITICAL|ERROR|WARNING|NOTICE|INFO|DEBUG)$'
}

@test "gearadmin: --create-function, --drop-function, --cancel-job" {
	run gadmin --create-function newfn
	assert_success
	assert_output OK
	run admin status
	assert_output $'newfn\t0\t0\t0\n.'
	run gadmin --drop-function newfn
	assert_success
	assert_output OK
	run admin status
	assert_output '.'
	gearman -b -f c x
	run gadmin --cancel-job "$(host_prefix):1"
	assert_success
	assert_output OK
}

@test "gearadmin: server ERR replies go to stderr, exit 0" {
	run --separate-stderr gadmin --drop-function nosuch
	assert_success
	assert_output ''
	[ "$stderr" = $'Error: function not found\r' ]
	run --separate-stderr gadmin --cancel-job H:nohost:99999
	assert_success
	[ "$stderr" = $'Error: UNKNOWN_JOB\r' ]
	worker busy cat
	run --separate-stderr gadmin --drop-function busy
	assert_success
	[ "$stderr" = $'Error: there are still connected workers or executing clients\r' ]
}

@test "gearadmin: several operations on one connection in its fixed order" {
	run gadmin --status --getpid --server-version
	assert_success
	assert_line --index 0 "$PID_s"
	assert_line --index 2 '.'
	[ "${#lines[@]}" -eq 3 ]
}

@test "gearman: a worker killed mid-job, the job is requeued and the client served" {
	hold_worker slow
	local w=$SPAWNED
	spawn gearman -f slow olleh >"$BATS_TEST_TMPDIR/c.out"
	local c=$SPAWNED
	wait_status slow '1 1 1'
	kill -9 "$w"
	wait_status slow '1 0 0'
	spawn gearman -w -c 1 -f slow -- rev
	wait_until 30 eval "! pid_alive $c"
	wait "$c"
	[ "$(cat "$BATS_TEST_TMPDIR/c.out")" = hello ]
	run admin 'show jobs'
	assert_output '.'
}

@test "gearman: with -j 1 a job whose worker dies fails the client (exit 1)" {
	server_start j -j 1
	export GEARMAN_SERVER="127.0.0.1:$PORT_j"
	PORT=$PORT_j hold_worker slow
	local w=$SPAWNED
	spawn gearman -f slow x >"$BATS_TEST_TMPDIR/c.out" \
	    2>"$BATS_TEST_TMPDIR/c.err"
	local c=$SPAWNED rc=0
	PORT=$PORT_j wait_status slow '1 1 1'
	kill -9 "$w"
	wait_until 30 eval "! pid_alive $c"
	wait "$c" || rc=$?
	[ "$rc" -eq 1 ]
	[ "$(cat "$BATS_TEST_TMPDIR/c.err")" = 'Job failed' ]
	[ ! -s "$BATS_TEST_TMPDIR/c.out" ]
	run admin "$PORT_j" status
	assert_output $'slow\t0\t0\t0\n.'
}
