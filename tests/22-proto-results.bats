#!/usr/bin/env bats
# Compatibility: results, status queries, exceptions, ECHO and client
# disconnects over the binary protocol (protocol.md §2, §3.4, §5).  Every
# test starts a fresh server, so handles count from 1.

load helper

setup() {
	server_start s
}

teardown() {
	kill_started
}

# jobs_lack PATTERN: the server answered `show jobs` with its whole list
# (up to the "." line) and no line of it matches PATTERN.  A failed or cut
# reply is not taken for an empty list.
jobs_lack() {
	local out
	out=$(admin "show jobs") || return 1
	[ "${out##*$'\n'}" = . ] || return 1
	! grep -q "$1" <<<"$out"
}

@test "WORK_STATUS, DATA, WARNING and COMPLETE reach every attached client verbatim" {
	run raw <<'EOF'
REQ SUBMIT_JOB f U "in"
WAIT 1
@2 REQ SUBMIT_JOB_HIGH f U "ignored"
@2 WAIT 1
@3 REQ CAN_DO f
@3 REQ GRAB_JOB
@3 WAIT 1
@3 REQ WORK_STATUS %H 1 2
@3 REQ WORK_DATA %H "part \0one"
@3 REQ WORK_WARNING %H careful
@3 REQ WORK_DATA %H ""
@3 REQ WORK_COMPLETE %H "res\xff"
WAIT 5
@2 WAIT 5
@3 SYNC
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
@2 JOB_CREATED H:HOST:1
@3 JOB_ASSIGN H:HOST:1 f in
WORK_STATUS H:HOST:1 1 2
WORK_DATA H:HOST:1 "part \0one"
WORK_WARNING H:HOST:1 careful
WORK_DATA H:HOST:1 ""
WORK_COMPLETE H:HOST:1 res\xff
@2 WORK_STATUS H:HOST:1 1 2
@2 WORK_DATA H:HOST:1 "part \0one"
@2 WORK_WARNING H:HOST:1 careful
@2 WORK_DATA H:HOST:1 ""
@2 WORK_COMPLETE H:HOST:1 res\xff'
}

@test "WORK_FAIL is forwarded and ends the job" {
	run raw <<'EOF'
REQ SUBMIT_JOB f "" x
WAIT 1
@2 REQ CAN_DO f
@2 REQ GRAB_JOB
@2 WAIT 1
@2 REQ WORK_FAIL %H
WAIT 1
REQ GET_STATUS H:HOST:1
WAIT 1
ADMIN status
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
@2 JOB_ASSIGN H:HOST:1 f x
WORK_FAIL H:HOST:1
STATUS_RES H:HOST:1 0 0 0 0
| f\t0\t0\t1
| .'
}

@test "WORK_DATA for a background job is dropped, its status still stored" {
	run raw <<'EOF'
REQ SUBMIT_JOB_BG f "" x
WAIT 1
@2 REQ CAN_DO f
@2 REQ GRAB_JOB
@2 WAIT 1
@2 REQ WORK_DATA %H chunk
@2 REQ WORK_WARNING %H warn
@2 REQ WORK_STATUS %H 7 9
@2 SYNC
SYNC
REQ GET_STATUS H:HOST:1
WAIT 1
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
@2 JOB_ASSIGN H:HOST:1 f x
STATUS_RES H:HOST:1 1 1 7 9'
}

@test "OPTION_REQ exceptions is echoed as sent; other options are refused" {
	run raw <<'EOF'
REQ OPTION_REQ exceptions
WAIT 1
REQ OPTION_REQ EXCEPTIONS
WAIT 1
REQ OPTION_REQ bogus
WAIT 1
EOF
	assert_success
	assert_output 'OPTION_RES exceptions
OPTION_RES EXCEPTIONS
ERROR UNKNOWN_OPTION "Server does not recognize given option"'
}

@test "WORK_EXCEPTION: as is with the option; WORK_FAIL without it (gm: no trailing NUL)" {
	run raw <<'EOF'
REQ OPTION_REQ exceptions
WAIT 1
REQ SUBMIT_JOB f U x
WAIT 1
@2 REQ SUBMIT_JOB f U x
@2 WAIT 1
@3 REQ CAN_DO f
@3 REQ GRAB_JOB
@3 WAIT 1
@3 REQ WORK_EXCEPTION %H "it broke"
WAIT 1
@2 WAIT 1
@3 SYNC
ADMIN status
EOF
	assert_success
	if is_gm; then
		# protocol.md §11: gm sends a WORK_FAIL libgearman can parse.
		assert_output 'OPTION_RES exceptions
JOB_CREATED H:HOST:1
@2 JOB_CREATED H:HOST:1
@3 JOB_ASSIGN H:HOST:1 f x
WORK_EXCEPTION H:HOST:1 "it broke"
@2 WORK_FAIL H:HOST:1
| f\t0\t0\t1
| .'
	else
		assert_output 'OPTION_RES exceptions
JOB_CREATED H:HOST:1
@2 JOB_CREATED H:HOST:1
@3 JOB_ASSIGN H:HOST:1 f x
WORK_EXCEPTION H:HOST:1 "it broke"
@2 WORK_FAIL H:HOST:1\0
| f\t0\t0\t1
| .'
	fi
}

@test "GET_STATUS: queued, running with progress, unknown, finished" {
	run raw <<'EOF'
REQ SUBMIT_JOB_BG f "" x
WAIT 1
REQ GET_STATUS H:HOST:1
WAIT 1
@2 REQ CAN_DO f
@2 REQ GRAB_JOB
@2 WAIT 1
REQ GET_STATUS H:HOST:1
WAIT 1
@2 REQ WORK_STATUS %H 5 10
@2 SYNC
REQ GET_STATUS H:HOST:1
WAIT 1
REQ GET_STATUS H:HOST:99
WAIT 1
REQ GET_STATUS nonsense
WAIT 1
@2 REQ WORK_COMPLETE %H ok
@2 SYNC
REQ GET_STATUS H:HOST:1
WAIT 1
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
STATUS_RES H:HOST:1 1 0 0 0
@2 JOB_ASSIGN H:HOST:1 f x
STATUS_RES H:HOST:1 1 1 0 0
STATUS_RES H:HOST:1 1 1 5 10
STATUS_RES H:HOST:99 0 0 0 0
STATUS_RES nonsense 0 0 0 0
STATUS_RES H:HOST:1 0 0 0 0'
}

@test "GET_STATUS_UNIQUE: state, progress and attached foreground clients" {
	run raw <<'EOF'
REQ SUBMIT_JOB_BG f U1 x
WAIT 1
REQ GET_STATUS_UNIQUE U1
WAIT 1
@2 REQ SUBMIT_JOB f U1 x
@2 WAIT 1
@3 REQ SUBMIT_JOB_HIGH f U1 x
@3 WAIT 1
@4 REQ CAN_DO f
@4 REQ GRAB_JOB
@4 WAIT 1
@4 REQ WORK_STATUS %H 2 3
@4 SYNC
REQ GET_STATUS_UNIQUE U1
WAIT 1
REQ GET_STATUS_UNIQUE nope
WAIT 1
REQ GET_STATUS_UNIQUE ""
WAIT 1
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
STATUS_RES_UNIQUE U1 1 0 0 0 0
@2 JOB_CREATED H:HOST:1
@3 JOB_CREATED H:HOST:1
@4 JOB_ASSIGN H:HOST:1 f x
STATUS_RES_UNIQUE U1 1 1 2 3 2
STATUS_RES_UNIQUE nope 0 0 0 0 0
STATUS_RES_UNIQUE "" 0 0 0 0 0'
}

@test "ECHO_REQ: empty, binary and 1 MiB come back unchanged" {
	run raw <<'EOF'
REQ ECHO_REQ ""
WAIT 1
REQ ECHO_REQ \0\x01\xfe\xff\0\r\n
WAIT 1
REQ ECHO_REQ z\{1048576}
WAIT 1
EOF
	assert_success
	assert_output "ECHO_RES \"\"
ECHO_RES \\0\\x01\\xfe\\xff\\0\\r\\n
ECHO_RES $(raw -x 'z\{1048576}')"
}

@test "a client gone while its job is queued: the job is dropped, never run" {
	run raw <<'EOF'
REQ SUBMIT_JOB f "" gone
WAIT 1
@2 REQ SUBMIT_JOB_BG f "" kept
@2 WAIT 1
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
@2 JOB_CREATED H:HOST:2'
	# The second job is a background one, so that it outlives this
	# script.  The first client has gone; wait until the server has seen
	# it leave (gm drops the job, gearmand marks it ignored), or this
	# races.
	wait_until 10 eval 'jobs_lack "^$(host_prefix):1	[0-9]*	0	"'
	run raw <<'EOF'
ADMINSORT show jobs
@3 REQ CAN_DO f
@3 REQ GRAB_JOB
@3 WAIT 1
@3 REQ GRAB_JOB
@3 WAIT 1
ADMIN status
EOF
	assert_success
	if is_gearmand; then
		# gearmand reaps the job lazily: listed with IGNORE 1 until a
		# worker reaches it.
		assert_output '| H:HOST:1\t0\t1\t0
| H:HOST:2\t0\t0\t1
| .
@3 JOB_ASSIGN H:HOST:2 f kept
@3 NO_JOB
| f\t1\t1\t1
| .'
	else
		assert_output '| H:HOST:2\t0\t0\t1
| .
@3 JOB_ASSIGN H:HOST:2 f kept
@3 NO_JOB
| f\t1\t1\t1
| .'
	fi
}

@test "a client gone while its job runs: the worker finishes without error" {
	run raw <<'EOF'
REQ SUBMIT_JOB f "" x
WAIT 1
@2 REQ CAN_DO f
@2 REQ GRAB_JOB
@2 WAIT 1
CLOSE
@2 REQ WORK_DATA %H d
@2 REQ WORK_STATUS %H 1 2
@2 REQ WORK_COMPLETE %H ok
@2 SYNC
ADMIN status
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
@2 JOB_ASSIGN H:HOST:1 f x
| f\t0\t0\t1
| .'
}

@test "another client attached to the job is unaffected by one leaving" {
	run raw <<'EOF'
REQ SUBMIT_JOB f U x
WAIT 1
@2 REQ SUBMIT_JOB f U x
@2 WAIT 1
CLOSE
@3 REQ CAN_DO f
@3 REQ GRAB_JOB
@3 WAIT 1
@3 REQ WORK_COMPLETE %H ok
@2 WAIT 1
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
@2 JOB_CREATED H:HOST:1
@3 JOB_ASSIGN H:HOST:1 f x
@2 WORK_COMPLETE H:HOST:1 ok'
}

@test "coalescing onto an abandoned job: gm runs it, gearmand never answers" {
	run raw <<'EOF'
REQ SUBMIT_JOB f U x
WAIT 1
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1'
	# The client has gone; wait until the server has seen it leave (gm
	# drops the job, gearmand marks it ignored), or this races.
	wait_until 10 eval 'jobs_lack "^$(host_prefix):1	[0-9]*	0	"'
	run raw <<'EOF'
@2 REQ SUBMIT_JOB f U y
@2 WAIT 1
@3 REQ CAN_DO f
@3 REQ GRAB_JOB
@3 WAIT 1
EOF
	assert_success
	if is_gm; then
		# protocol.md §11: gm does not leave the new client hanging.
		assert_output --regexp '^@2 JOB_CREATED H:HOST:([0-9]+)
@3 JOB_ASSIGN H:HOST:[0-9]+ f [xy]$'
	else
		assert_output '@2 JOB_CREATED H:HOST:1
@3 NO_JOB'
		run raw <<'EOF'
@2 REQ GET_STATUS H:HOST:1
@2 WAIT 1
EOF
		assert_output '@2 STATUS_RES H:HOST:1 0 0 0 0'
	fi
}

@test "a foreground client leaving a background job: gm keeps the job, gearmand drops it" {
	run raw <<'EOF'
REQ SUBMIT_JOB_BG f UBF bg
WAIT 1
@2 REQ SUBMIT_JOB f UBF fg
@2 WAIT 1
@2 CLOSE
EOF
	assert_success
	wait_until 10 eval '[ "$(raw <<<"REQ GET_STATUS_UNIQUE UBF
WAIT 1")" = "STATUS_RES_UNIQUE UBF 1 0 0 0 0" ]'
	run raw <<'EOF'
@3 REQ CAN_DO f
@3 REQ GRAB_JOB
@3 WAIT 1
EOF
	assert_success
	if is_gm; then
		assert_output '@3 JOB_ASSIGN H:HOST:1 f bg'
	else
		assert_output '@3 NO_JOB'
	fi
}

@test "a background submission onto a foreground job: gm keeps the job when the client leaves, gearmand drops it" {
	run raw <<'EOF'
REQ SUBMIT_JOB f U1 fg
WAIT 1
@2 REQ SUBMIT_JOB_BG f U1 bg
@2 WAIT 1
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
@2 JOB_CREATED H:HOST:1'
	# Both clients have gone; wait until the server has seen them leave
	# (only this admin connection listed; gearmand also marks the job
	# ignored), or this races.
	wait_until 10 eval '[ "$(admin workers | wc -l)" = 2 ]'
	! is_gearmand || wait_until 10 eval 'jobs_lack "^$(host_prefix):1	[0-9]*	0	"'
	run raw <<'EOF'
@3 ADMIN show jobs
@4 REQ CAN_DO f
@4 REQ GRAB_JOB
@4 WAIT 1
EOF
	assert_success
	if is_gm; then
		# DESIGN.md: a background job never depends on a client.
		assert_output --regexp '^@3 \| H:HOST:1\\t0\\t0\\t[01]
@3 \| \.
@4 JOB_ASSIGN H:HOST:1 f fg$'
	else
		assert_output '@3 | H:HOST:1\t0\t1\t0
@3 | .
@4 NO_JOB'
	fi
}

@test "a server run with --exceptions sends WORK_EXCEPTION to every client" {
	server_start e --exceptions
	run raw -p "$PORT_e" <<'EOF'
REQ SUBMIT_JOB f "" x
WAIT 1
@2 REQ CAN_DO f
@2 REQ GRAB_JOB
@2 WAIT 1
@2 REQ WORK_EXCEPTION %H "it broke"
WAIT 1
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
@2 JOB_ASSIGN H:HOST:1 f x
WORK_EXCEPTION H:HOST:1 "it broke"'
}

@test "one connection submitting a unique twice gets every reply twice" {
	run raw <<'EOF'
REQ SUBMIT_JOB twice u2 x
WAIT 1
REQ SUBMIT_JOB twice u2 y
WAIT 1
REQ GET_STATUS_UNIQUE u2
WAIT 1
@2 REQ CAN_DO twice
@2 REQ GRAB_JOB
@2 WAIT 1
@2 REQ WORK_DATA %H dd
WAIT 2
@2 REQ WORK_COMPLETE %H done
WAIT 2
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
JOB_CREATED H:HOST:1
STATUS_RES_UNIQUE u2 1 0 0 0 2
@2 JOB_ASSIGN H:HOST:1 twice x
WORK_DATA H:HOST:1 dd
WORK_DATA H:HOST:1 dd
WORK_COMPLETE H:HOST:1 done
WORK_COMPLETE H:HOST:1 done'
}
