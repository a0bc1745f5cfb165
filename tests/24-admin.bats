#!/usr/bin/env bats
# Compatibility: the admin text protocol (protocol.md §7), byte for byte.
# Only what must differ is normalised: the version string, the pid, fd
# numbers and the host in handles (gmraw prints it as H:HOST), and row
# order, which is hash order in gearmand (ADMINSORT sorts the rows).

load helper

setup() {
	server_start s
}

teardown() {
	kill_started
}

# The scene of protocol.md §7.3: two workers, a running job, three queued
# jobs at three priorities, and a queued foreground job.
SCENE='@2 REQ CAN_DO reverse
@2 SYNC
@3 REQ CAN_DO reverse
@3 REQ CAN_DO sleeper
@3 SYNC
@4 REQ SUBMIT_JOB_BG sleeper u-sleep x
@4 WAIT 1
@3 REQ GRAB_JOB
@3 WAIT 1
@4 REQ SUBMIT_JOB_BG resize "" n
@4 WAIT 1
@4 REQ SUBMIT_JOB_HIGH_BG resize u-high h
@4 WAIT 1
@4 REQ SUBMIT_JOB_LOW_BG resize job-3 l
@4 WAIT 1
@4 REQ SUBMIT_JOB sleeper - fg
@4 WAIT 1'

# Drop fd numbers from `workers` rows.
nofd() {
	sed -E 's/^\| [0-9]+ /| FD /'
}

@test "status: TOTAL RUNNING WORKERS per function" {
	run raw <<<"$SCENE
ADMINSORT status"
	assert_success
	run tail -n 4 <<<"$output"
	assert_output '| resize\t3\t0\t0
| reverse\t0\t0\t2
| sleeper\t2\t1\t1
| .'
}

@test "status on an empty server is a lone dot" {
	run raw <<<'TEXT status
WAIT 1'
	assert_success
	assert_output '| .'
}

@test "prioritystatus: HIGH NORMAL LOW queued, and WORKERS" {
	run raw <<<"$SCENE
ADMINSORT prioritystatus"
	assert_success
	run tail -n 4 <<<"$output"
	assert_output '| resize\t1\t1\t1\t0
| reverse\t0\t0\t0\t2
| sleeper\t0\t1\t0\t1
| .'
}

@test "workers: every connection, client id, functions latest first" {
	run raw <<<"$SCENE
ADMINSORT workers"
	assert_success
	run bash -c 'tail -n 5 | sed -E "s/^\| [0-9]+ /| FD /"' <<<"$output"
	assert_output '| FD 127.0.0.1 - : reverse
| FD 127.0.0.1 - : sleeper reverse
| FD 127.0.0.1 - :
| FD 127.0.0.1 - :
| .'
}

@test "workers: the fd column is a number, the IP the peer's" {
	run admin workers
	assert_success
	assert_output --regexp $'^[0-9]+ 127\\.0\\.0\\.1 - :\n\\.$'
}

@test "show jobs: HANDLE RETRIES IGNORE PERSISTED" {
	run raw <<<"$SCENE
ADMINSORT show jobs"
	assert_success
	run tail -n 6 <<<"$output"
	assert_output '| H:HOST:1\t0\t0\t1
| H:HOST:2\t0\t0\t1
| H:HOST:3\t0\t0\t1
| H:HOST:4\t0\t0\t1
| H:HOST:5\t0\t0\t0
| .'
}

@test "show unique jobs: one line per job, empty for no unique" {
	run raw <<<"$SCENE
ADMINSORT show unique jobs"
	assert_success
	run tail -n 6 <<<"$output"
	assert_output '|
| -
| job-3
| u-high
| u-sleep
| .'
}

@test "admin bytes: list replies end in LF, OK values in LF, the rest CRLF" {
	local pid
	pid=$PID_s
	run raw <<'EOF'
TEXT status
TEXT getpid
TEXT maxqueue x 1
TEXT create function yy\r
TEXT bogus
WAIT 5
EOF
	assert_success
	assert_output "| .
| OK $pid
| OK\\r
| OK\\r
| ERR UNKNOWN_COMMAND Unknown+server+commandbogus\\r"
	# The same, straight from the socket, byte for byte.
	[ "$(admin status | od -An -tx1)" = \
	    "$(printf 'yy\t0\t0\t0\n.\n' | od -An -tx1)" ]
	[ "$(admin getpid | od -An -tx1)" = \
	    "$(printf 'OK %s\n' "$pid" | od -An -tx1)" ]
	[ "$(admin 'maxqueue x' | od -An -tx1)" = \
	    "$(printf 'OK\r\n' | od -An -tx1)" ]
}

@test "version: OK and the server's version, LF" {
	run raw <<<'ADMIN version'
	assert_success
	if is_gm; then
		assert_output --regexp '^\| OK [0-9]+\.[0-9]+\.[0-9]+[^ ]*$'
	else
		assert_output '| OK 1.1.20+ds'
	fi
}

@test "getpid: OK and the server's pid" {
	run raw <<<'ADMIN getpid'
	assert_success
	assert_output "| OK $PID_s"
}

@test "verbose: OK and the --verbose level name" {
	# server_start runs gearmand with --verbose INFO.
	is_gearmand || server_start v --verbose INFO
	run raw -p "${PORT_v:-$PORT}" <<<'ADMIN verbose'
	assert_success
	assert_output '| OK INFO'
}

@test "unknown commands, the empty line and a leading space are UNKNOWN_COMMAND" {
	run raw <<'EOF'
ADMIN bogus
ADMIN bogus arg
ADMIN
ADMIN  status
ADMIN show
ADMIN cancel
ADMIN cancel job
ADMIN create
EOF
	assert_success
	assert_output '| ERR UNKNOWN_COMMAND Unknown+server+commandbogus\r
| ERR UNKNOWN_COMMAND Unknown+server+commandbogus\r
| ERR UNKNOWN_COMMAND Unknown+server+command\r
| ERR UNKNOWN_COMMAND Unknown+server+command\r
| ERR UNKNOWN_COMMAND Unknown+server+commandshow\r
| ERR UNKNOWN_COMMAND Unknown+server+commandcancel\r
| ERR UNKNOWN_COMMAND Unknown+server+commandcancel\r
| ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+create\r'
}

@test "command words are case-insensitive, runs of spaces collapse" {
	run raw <<'EOF'
ADMIN STATUS
ADMIN Show   Jobs
ADMIN VERSION
EOF
	assert_success
	assert_line --index 0 '| .'
	assert_line --index 1 '| .'
	assert_line --index 2 --regexp '^\| OK '
}

@test "show with bad arguments is UNKNOWN_SHOW_ARGUMENTS" {
	run raw <<'EOF'
ADMIN show foo
ADMIN show unique
ADMIN show jobs x
ADMIN show unique jobs x
EOF
	assert_success
	assert_output '| ERR UNKNOWN_SHOW_ARGUMENTS\r
| ERR UNKNOWN_SHOW_ARGUMENTS\r
| ERR UNKNOWN_SHOW_ARGUMENTS\r
| ERR UNKNOWN_SHOW_ARGUMENTS\r'
}

@test "pipelined commands are answered in order on one connection" {
	run raw <<'EOF'
RAW version\ngetpid\nstatus\nbogus\nstatus\n
WAIT 5
EOF
	assert_success
	assert_line --index 0 --regexp '^\| OK '
	assert_line --index 1 "| OK $PID_s"
	assert_line --index 2 '| .'
	assert_line --index 3 '| ERR UNKNOWN_COMMAND Unknown+server+commandbogus\r'
	assert_line --index 4 '| .'
	[ "${#lines[@]}" -eq 5 ]
}

@test "a reply reaches a client that half-closes after sending (nc -N)" {
	# gearmand answers such a client only now and then (a race).
	gm_only "gearmand may close before it answers"
	run bash -c "printf 'create function hc\r\nstatus\n' | nc -N 127.0.0.1 $PORT"
	assert_success
	assert_output $'OK\r\nhc\t0\t0\t0\n.'
}

@test "cancel job: OK and WORK_FAIL; gm drops the job at once, gearmand when reached" {
	run raw <<'EOF'
REQ SUBMIT_JOB f "" x
WAIT 1
REQ SUBMIT_JOB_BG f "" y
WAIT 1
@9 ADMIN cancel job H:HOST:1
WAIT 1
@9 ADMINSORT show jobs
@9 ADMIN status
@9 ADMIN cancel job H:HOST:1
@9 ADMIN cancel job H:HOST:999
@9 ADMIN cancel job H:HOST:1 extra
@9 ADMIN cancel foo H:HOST:1
@2 REQ CAN_DO f
@2 REQ GRAB_JOB
@2 WAIT 1
@2 REQ GRAB_JOB
@2 WAIT 1
@9 ADMIN status
EOF
	assert_success
	if is_gm; then
		# protocol.md §11: a cancelled job leaves status at once.
		assert_output 'JOB_CREATED H:HOST:1
JOB_CREATED H:HOST:2
@9 | OK\r
WORK_FAIL H:HOST:1
@9 | H:HOST:2\t0\t0\t1
@9 | .
@9 | f\t1\t0\t0
@9 | .
@9 | ERR UNKNOWN_JOB\r
@9 | ERR UNKNOWN_JOB\r
@9 | ERR UNKNOWN_ERROR\r
@9 | ERR UNKNOWN_ERROR\r
@2 JOB_ASSIGN H:HOST:2 f y
@2 NO_JOB
@9 | f\t1\t1\t1
@9 | .'
	else
		assert_output 'JOB_CREATED H:HOST:1
JOB_CREATED H:HOST:2
@9 | OK\r
WORK_FAIL H:HOST:1
@9 | H:HOST:1\t0\t1\t0
@9 | H:HOST:2\t0\t0\t1
@9 | .
@9 | f\t2\t0\t0
@9 | .
@9 | OK\r
@9 | ERR UNKNOWN_JOB\r
@9 | ERR UNKNOWN_ERROR\r
@9 | ERR UNKNOWN_ERROR\r
@2 JOB_ASSIGN H:HOST:2 f y
@2 NO_JOB
@9 | f\t1\t1\t1
@9 | .'
	fi
}

@test "cancel a running job: WORK_FAIL; gearmand later forwards the worker's result too" {
	run raw <<'EOF'
REQ SUBMIT_JOB f "" x
WAIT 1
@2 REQ CAN_DO f
@2 REQ GRAB_JOB
@2 WAIT 1
@9 ADMIN cancel job H:HOST:1
WAIT 1
@2 REQ WORK_COMPLETE H:HOST:1 done
@2 SYNC
SYNC
EOF
	assert_success
	if is_gm; then
		# protocol.md §11: one final packet per job, not two; the
		# worker's late result is accepted silently.
		assert_output 'JOB_CREATED H:HOST:1
@2 JOB_ASSIGN H:HOST:1 f x
@9 | OK\r
WORK_FAIL H:HOST:1'
	else
		assert_output 'JOB_CREATED H:HOST:1
@2 JOB_ASSIGN H:HOST:1 f x
@9 | OK\r
WORK_FAIL H:HOST:1
WORK_COMPLETE H:HOST:1 done'
	fi
}

@test "create function: CRLF keeps the name; LF keeps it in gm, drops a character in gearmand" {
	run raw <<'EOF'
ADMIN create function crlf\r
ADMIN create function lfname
ADMIN create function
ADMIN create function a b
ADMINSORT status
EOF
	assert_success
	if is_gm; then
		assert_output '| OK\r
| OK\r
| ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+create\r
| ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+create\r
| crlf\t0\t0\t0
| lfname\t0\t0\t0
| .'
	else
		assert_output '| OK\r
| OK\r
| ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+create\r
| ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+create\r
| crlf\t0\t0\t0
| lfnam\t0\t0\t0
| .'
	fi
}

@test "drop function: refused with workers, unknown names, case-insensitive" {
	run raw <<'EOF'
@2 REQ CAN_DO busy
@2 SYNC
ADMIN create function Idle\r
ADMIN drop function busy
ADMIN drop function nosuch
ADMIN drop function IDLE
ADMIN drop function
ADMINSORT status
@2 CLOSE
EOF
	assert_success
	assert_output '| OK\r
| ERR there are still connected workers or executing clients\r
| ERR function not found\r
| OK\r
| ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+drop\r
| busy\t0\t0\t1
| .'
}

@test "drop function with queued jobs: gearmand orphans them, gm refuses" {
	run raw <<'EOF'
REQ SUBMIT_JOB_BG f "" x
WAIT 1
ADMIN drop function f
ADMIN status
ADMINSORT show jobs
EOF
	assert_success
	if is_gm; then
		# protocol.md §11: gm refuses to orphan the queued job.
		assert_output 'JOB_CREATED H:HOST:1
| ERR there are still connected workers or executing clients\r
| f\t1\t0\t0
| .
| H:HOST:1\t0\t0\t1
| .'
	else
		assert_output 'JOB_CREATED H:HOST:1
| OK\r
| .
| H:HOST:1\t0\t0\t1
| .'
	fi
}

@test "maxqueue: every arity answers OK; no number resets the limits" {
	run raw <<'EOF'
ADMIN maxqueue
ADMIN create function f\r
ADMIN maxqueue f 1 1
REQ SUBMIT_JOB_HIGH_BG f "" h
WAIT 1
REQ SUBMIT_JOB_BG f "" n
WAIT 1
REQ SUBMIT_JOB_LOW_BG f "" l
WAIT 1
ADMIN maxqueue f
REQ SUBMIT_JOB_BG f "" n2
WAIT 1
ADMIN maxqueue f -3
REQ SUBMIT_JOB_BG f "" n3
WAIT 1
ADMIN maxqueue f abc
REQ SUBMIT_JOB_BG f "" n4
WAIT 1
ADMIN maxqueue nosuch 5
ADMIN maxqueue f 1 2 3
ADMIN status
EOF
	assert_success
	assert_output '| ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+maxqueue\r
| OK\r
| OK\r
JOB_CREATED H:HOST:1
ERROR QUEUE_ERROR "Job queue is full"
JOB_CREATED H:HOST:2
| OK\r
JOB_CREATED H:HOST:3
| OK\r
JOB_CREATED H:HOST:4
| OK\r
JOB_CREATED H:HOST:5
| OK\r
| OK\r
| f\t5\t0\t0
| .'
}
