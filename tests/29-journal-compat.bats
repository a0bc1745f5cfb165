#!/usr/bin/env bats
# Compatibility with gm-server's journal on (its default in production):
# a selection of the protocol and admin checks of tests/2[0-4]-*.bats, run
# with --journal DIR.  gearmand runs them as usual (it has no journal), so
# both servers must still give the same answers.

load helper

setup() {
	JOURNAL_s=$BATS_TEST_TMPDIR/journal
	mkdir -p "$JOURNAL_s"
	server_start s
}

teardown() {
	spawn_kill
	kill_started
}

@test "journal on: every submit variant is queued at its priority, FIFO within one" {
	run raw <<'EOF'
REQ SUBMIT_JOB_LOW f "" low-fg
WAIT 1
REQ SUBMIT_JOB_LOW_BG f "" low-bg
WAIT 1
REQ SUBMIT_JOB f "" norm-fg
WAIT 1
REQ SUBMIT_JOB_BG f "" norm-bg
WAIT 1
REQ SUBMIT_JOB_EPOCH f "" 1000 norm-epoch
WAIT 1
REQ SUBMIT_REDUCE_JOB f "" red agg norm-reduce
WAIT 1
REQ SUBMIT_REDUCE_JOB_BACKGROUND f "" red agg norm-reduce-bg
WAIT 1
REQ SUBMIT_JOB_HIGH f "" high-fg
WAIT 1
REQ SUBMIT_JOB_HIGH_BG f "" high-bg
WAIT 1
ADMIN prioritystatus
@2 REQ CAN_DO f
@2 REQ GRAB_JOB
@2 WAIT 1
@2 REQ GRAB_JOB
@2 WAIT 1
@2 REQ GRAB_JOB
@2 WAIT 1
@2 REQ GRAB_JOB
@2 WAIT 1
@2 REQ GRAB_JOB
@2 WAIT 1
@2 REQ GRAB_JOB
@2 WAIT 1
@2 REQ GRAB_JOB
@2 WAIT 1
@2 REQ GRAB_JOB
@2 WAIT 1
@2 REQ GRAB_JOB
@2 WAIT 1
@2 REQ GRAB_JOB
@2 WAIT 1
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
JOB_CREATED H:HOST:2
JOB_CREATED H:HOST:3
JOB_CREATED H:HOST:4
JOB_CREATED H:HOST:5
JOB_CREATED H:HOST:6
JOB_CREATED H:HOST:7
JOB_CREATED H:HOST:8
JOB_CREATED H:HOST:9
| f\t2\t5\t2\t0
| .
@2 JOB_ASSIGN H:HOST:8 f high-fg
@2 JOB_ASSIGN H:HOST:9 f high-bg
@2 JOB_ASSIGN H:HOST:3 f norm-fg
@2 JOB_ASSIGN H:HOST:4 f norm-bg
@2 JOB_ASSIGN H:HOST:5 f norm-epoch
@2 JOB_ASSIGN H:HOST:6 f norm-reduce
@2 JOB_ASSIGN H:HOST:7 f norm-reduce-bg
@2 JOB_ASSIGN H:HOST:1 f low-fg
@2 JOB_ASSIGN H:HOST:2 f low-bg
@2 NO_JOB'
}

@test "journal on: a named unique coalesces per function, keeping the first data and priority" {
	run raw <<'EOF'
REQ SUBMIT_JOB f U1 first
WAIT 1
@2 REQ SUBMIT_JOB_HIGH f U1 second
@2 WAIT 1
@3 REQ SUBMIT_JOB_BG f U1 third
@3 WAIT 1
@3 REQ SUBMIT_JOB_BG g U1 other
@3 WAIT 1
@3 REQ SUBMIT_JOB_BG f u1 case
@3 WAIT 1
ADMINSORT prioritystatus
@4 REQ CAN_DO f
@4 REQ GRAB_JOB_UNIQ
@4 WAIT 1
@4 REQ WORK_COMPLETE %H done
WAIT 1
@2 WAIT 1
@3 SYNC
REQ SUBMIT_JOB f U1 again
WAIT 1
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
@2 JOB_CREATED H:HOST:1
@3 JOB_CREATED H:HOST:1
@3 JOB_CREATED H:HOST:2
@3 JOB_CREATED H:HOST:3
| f\t0\t2\t0\t0
| g\t0\t1\t0\t0
| .
@4 JOB_ASSIGN_UNIQ H:HOST:1 f U1 first
WORK_COMPLETE H:HOST:1 done
@2 WORK_COMPLETE H:HOST:1 done
JOB_CREATED H:HOST:4'
}

@test "journal on: a worker that disconnects requeues its job at the tail" {
	run raw <<'EOF'
REQ SUBMIT_JOB_BG f "" A
WAIT 1
REQ SUBMIT_JOB_BG f "" B
WAIT 1
@2 REQ CAN_DO f
@2 REQ GRAB_JOB
@2 WAIT 1
@2 CLOSE
EOF
	assert_success
	wait_status f '2 0 0'
	run raw <<'EOF'
@3 REQ CAN_DO f
@3 REQ GRAB_JOB
@3 WAIT 1
@3 REQ GRAB_JOB
@3 WAIT 1
EOF
	assert_success
	assert_output '@3 JOB_ASSIGN H:HOST:2 f B
@3 JOB_ASSIGN H:HOST:1 f A'
}

@test "journal on: GET_STATUS: queued, running with progress, unknown, finished" {
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

@test "journal on: cancel job: OK and WORK_FAIL; gm drops the job at once, gearmand when reached" {
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

@test "journal on: drop function with queued jobs: gearmand orphans them, gm refuses" {
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

@test "journal on: gearman CLI background jobs drain in priority order" {
	export GEARMAN_SERVER="127.0.0.1:$PORT"
	gearman -b -L -f p lo
	gearman -b -f p no
	gearman -b -I -f p hi
	run timeout 20 gearman -w -c 3 -f p
	assert_success
	assert_output 'hinolo'
	run admin 'show jobs'
	assert_output '.'
}
