#!/usr/bin/env bats
# Compatibility: job submission over the binary protocol (protocol.md §2,
# §3, §5.9), checked packet by packet with tests/tools/gmraw against both
# servers.  Every test starts a fresh server, so handles count from 1.

load helper

setup() {
	server_start s
}

teardown() {
	kill_started
}

@test "JOB_CREATED handles are H:nodename:N (gm: H:nodename-id:N) from 1" {
	run raw -n <<'EOF'
REQ SUBMIT_JOB f1 "" a
WAIT 1
REQ SUBMIT_JOB_BG f1 "" b
WAIT 1
@2 REQ SUBMIT_JOB_HIGH f2 "" c
@2 WAIT 1
EOF
	assert_success
	local h
	h=$(host_prefix)
	if is_gm; then
		# gm names the server too: 8 hex digits of a server id.
		[[ $h =~ ^H:$(uname -n | cut -c1-30)-[0-9a-f]{8}$ ]]
	else
		assert_equal "$h" "H:$(uname -n)"
	fi
	assert_output "JOB_CREATED $h:1
JOB_CREATED $h:2
@2 JOB_CREATED $h:3"
}

@test "--job-handle-prefix replaces the whole prefix" {
	server_start p --job-handle-prefix XYZ
	run raw -n -p "$PORT_p" <<'EOF'
REQ SUBMIT_JOB_BG f1 "" a
WAIT 1
REQ SUBMIT_JOB_BG f1 "" b
WAIT 1
EOF
	assert_success
	assert_output "JOB_CREATED XYZ:1
JOB_CREATED XYZ:2"
}

@test "every submit variant is queued at its priority, FIFO within one" {
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

@test "foreground submitters get the results, background ones only the handle" {
	run raw <<'EOF'
REQ SUBMIT_JOB f "" fg
WAIT 1
@2 REQ SUBMIT_JOB_BG f "" bg
@2 WAIT 1
@3 REQ CAN_DO f
@3 REQ GRAB_JOB
@3 WAIT 1
@3 REQ WORK_COMPLETE %H r1
@3 REQ GRAB_JOB
@3 WAIT 1
@3 REQ WORK_COMPLETE %H r2
@3 SYNC
WAIT 1
@2 SYNC
SYNC
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
@2 JOB_CREATED H:HOST:2
@3 JOB_ASSIGN H:HOST:1 f fg
@3 JOB_ASSIGN H:HOST:2 f bg
WORK_COMPLETE H:HOST:1 r1'
}

@test "job data is binary-safe and the empty function name is valid" {
	run raw <<'EOF'
REQ SUBMIT_JOB "" u1 \0\x01\xff\0
WAIT 1
REQ SUBMIT_JOB_BG "" "" ""
WAIT 1
@2 REQ CAN_DO ""
@2 REQ GRAB_JOB_UNIQ
@2 WAIT 1
@2 REQ GRAB_JOB_UNIQ
@2 WAIT 1
@2 REQ WORK_COMPLETE H:HOST:1 \0out\0
WAIT 1
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
JOB_CREATED H:HOST:2
@2 JOB_ASSIGN_UNIQ H:HOST:1 "" u1 \0\x01\xff\0
@2 JOB_ASSIGN_UNIQ H:HOST:2 "" "" ""
WORK_COMPLETE H:HOST:1 \0out\0'
}

@test "a 20 MiB payload passes through submit, assign and complete" {
	run raw -t 30000 <<'EOF'
REQ SUBMIT_JOB big "" x\{20971520}
WAIT 1
@2 REQ CAN_DO big
@2 REQ GRAB_JOB
@2 WAIT 1
@2 REQ WORK_COMPLETE %H y\{20971520}
WAIT 1
EOF
	assert_success
	assert_output "JOB_CREATED H:HOST:1
@2 JOB_ASSIGN H:HOST:1 big $(raw -x 'x\{20971520}')
WORK_COMPLETE H:HOST:1 $(raw -x 'y\{20971520}')"
}

@test "a job for a function nobody registered is queued and listed" {
	run raw <<'EOF'
REQ SUBMIT_JOB_BG nobody "" x
WAIT 1
ADMIN status
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
| nobody\t1\t0\t0
| .'
}

@test "EPOCH in the past or non-numeric runs at once" {
	run raw <<'EOF'
REQ SUBMIT_JOB_EPOCH f "" 1 past
WAIT 1
REQ SUBMIT_JOB_EPOCH f "" abc text
WAIT 1
@2 REQ CAN_DO f
@2 REQ GRAB_JOB_UNIQ
@2 WAIT 1
@2 REQ GRAB_JOB_UNIQ
@2 WAIT 1
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
JOB_CREATED H:HOST:2
@2 JOB_ASSIGN_UNIQ H:HOST:1 f "" past
@2 JOB_ASSIGN_UNIQ H:HOST:2 f "" text'
}

@test "EPOCH in the future waits for its time" {
	# Due 5 s from now (4 s at least, as date +%s rounds down): the
	# script's first grab comes before it even on a loaded machine.
	local at=$(($(date +%s) + 5))
	run raw <<EOF
REQ SUBMIT_JOB_EPOCH f u1 $at later
WAIT 1
ADMIN status
@2 REQ CAN_DO f
@2 REQ GRAB_JOB_UNIQ
@2 WAIT 1
@2 POLL JOB_ASSIGN_UNIQ REQ GRAB_JOB_UNIQ
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
| f\t1\t0\t0
| .
@2 NO_JOB
@2 JOB_ASSIGN_UNIQ H:HOST:1 f u1 later'
	[ "$(date +%s)" -ge "$at" ]
}

@test "a due EPOCH job wakes a sleeping worker (gm) / needs a poll (gearmand)" {
	# Due 5 s from now (4 s at least): not yet due when submitted.
	local at=$(($(date +%s) + 5))
	if is_gm; then
		# gm fixes protocol.md §11: a timer wakes the sleeper when the
		# job is due, so NOOP, GRAB_JOB, JOB_ASSIGN with no polling.
		run raw <<EOF
@2 REQ CAN_DO f
@2 REQ PRE_SLEEP
@2 SYNC
REQ SUBMIT_JOB_EPOCH f "" $at later
WAIT 1
@2 UNTIL NOOP
@2 REQ GRAB_JOB
@2 WAIT 1
EOF
		assert_success
		assert_output 'JOB_CREATED H:HOST:1
@2 NOOP
@2 JOB_ASSIGN H:HOST:1 f later'
	else
		# gearmand: one NOOP at submission, none when the job is due.
		run raw <<EOF
@2 REQ CAN_DO f
@2 REQ PRE_SLEEP
@2 SYNC
REQ SUBMIT_JOB_EPOCH f "" $at later
WAIT 1
@2 UNTIL NOOP
@2 REQ GRAB_JOB
@2 WAIT 1
@2 POLL JOB_ASSIGN REQ GRAB_JOB
EOF
		assert_success
		assert_output 'JOB_CREATED H:HOST:1
@2 NOOP
@2 NO_JOB
@2 JOB_ASSIGN H:HOST:1 f later'
	fi
	[ "$(date +%s)" -ge "$at" ]
}

@test "a future EPOCH job does not block lower priorities (gm) / does (gearmand)" {
	local at=$(($(date +%s) + 3600))
	run raw <<EOF
REQ SUBMIT_JOB_EPOCH f "" $at later
WAIT 1
REQ SUBMIT_JOB_LOW_BG f "" low
WAIT 1
@2 REQ CAN_DO f
@2 REQ GRAB_JOB
@2 WAIT 1
EOF
	assert_success
	if is_gm; then
		assert_output 'JOB_CREATED H:HOST:1
JOB_CREATED H:HOST:2
@2 JOB_ASSIGN H:HOST:2 f low'
	else
		assert_output 'JOB_CREATED H:HOST:1
JOB_CREATED H:HOST:2
@2 NO_JOB'
	fi
}

@test "SUBMIT_JOB_SCHED is refused with INVALID_COMMAND" {
	run raw <<'EOF'
REQ SUBMIT_JOB_SCHED f "" 1 2 3 4 5 data
WAIT 1
ADMIN status
EOF
	assert_success
	assert_output 'ERROR INVALID_COMMAND "Command not expected"
| .'
}

@test "reduce jobs: JOB_ASSIGN_ALL carries the reducer, other grabs do not" {
	run raw <<'EOF'
REQ SUBMIT_REDUCE_JOB f u1 red1 agg d1
WAIT 1
REQ SUBMIT_REDUCE_JOB_BACKGROUND f u2 red2 agg d2
WAIT 1
REQ SUBMIT_REDUCE_JOB f u3 red3 agg d3
WAIT 1
REQ SUBMIT_JOB f u4 d4
WAIT 1
@2 REQ CAN_DO f
@2 REQ GRAB_JOB_ALL
@2 WAIT 1
@2 REQ GRAB_JOB_UNIQ
@2 WAIT 1
@2 REQ GRAB_JOB
@2 WAIT 1
@2 REQ GRAB_JOB_ALL
@2 WAIT 1
@2 REQ WORK_COMPLETE H:HOST:1 r1
WAIT 1
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
JOB_CREATED H:HOST:2
JOB_CREATED H:HOST:3
JOB_CREATED H:HOST:4
@2 JOB_ASSIGN_ALL H:HOST:1 f u1 red1 d1
@2 JOB_ASSIGN_UNIQ H:HOST:2 f u2 d2
@2 JOB_ASSIGN H:HOST:3 f d3
@2 JOB_ASSIGN_UNIQ H:HOST:4 f u4 d4
WORK_COMPLETE H:HOST:1 r1'
}

@test "empty unique never coalesces" {
	run raw <<'EOF'
REQ SUBMIT_JOB f "" x
WAIT 1
@2 REQ SUBMIT_JOB f "" x
@2 WAIT 1
REQ SUBMIT_JOB_BG f "" x
WAIT 1
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
@2 JOB_CREATED H:HOST:2
JOB_CREATED H:HOST:3'
}

@test "unique '-' coalesces on equal data of the same function only" {
	run raw <<'EOF'
REQ SUBMIT_JOB f - same
WAIT 1
@2 REQ SUBMIT_JOB f - same
@2 WAIT 1
@2 REQ SUBMIT_JOB f - other
@2 WAIT 1
@3 REQ SUBMIT_JOB g - same
@3 WAIT 1
@3 REQ SUBMIT_JOB f - ""
@3 WAIT 1
@3 REQ SUBMIT_JOB f - ""
@3 WAIT 1
ADMINSORT show unique jobs
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
@2 JOB_CREATED H:HOST:1
@2 JOB_CREATED H:HOST:2
@3 JOB_CREATED H:HOST:3
@3 JOB_CREATED H:HOST:4
@3 JOB_CREATED H:HOST:5
| -
| -
| -
| -
| -
| .'
}

@test "a named unique coalesces per function, keeping the first data and priority" {
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

@test "a submission attaches to a running job and gets what follows" {
	run raw <<'EOF'
REQ SUBMIT_JOB_BG f U1 bgdata
WAIT 1
@2 REQ SUBMIT_JOB f U1 fgdata
@2 WAIT 1
@3 REQ CAN_DO f
@3 REQ GRAB_JOB
@3 WAIT 1
@3 REQ WORK_DATA %H before
@3 SYNC
@4 REQ SUBMIT_JOB_LOW f U1 late
@4 WAIT 1
@3 REQ WORK_DATA %H chunk
@3 REQ WORK_COMPLETE %H res
@2 WAIT 3
@4 WAIT 2
SYNC
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
@2 JOB_CREATED H:HOST:1
@3 JOB_ASSIGN H:HOST:1 f bgdata
@4 JOB_CREATED H:HOST:1
@2 WORK_DATA H:HOST:1 before
@2 WORK_DATA H:HOST:1 chunk
@2 WORK_COMPLETE H:HOST:1 res
@4 WORK_DATA H:HOST:1 chunk
@4 WORK_COMPLETE H:HOST:1 res'
}

@test "unique ids up to 64 bytes are accepted, 65 are refused" {
	local u63 u64 u65
	u63=$(printf 'u%.0s' {1..63})
	u64=${u63}v
	u65=${u64}w
	run raw <<EOF
REQ SUBMIT_JOB_BG f $u63 a
WAIT 1
@2 REQ SUBMIT_JOB_BG f $u63 b
@2 WAIT 1
REQ SUBMIT_JOB_BG f $u64 c
WAIT 1
REQ SUBMIT_JOB_BG f $u65 d
WAIT 1
REQ SUBMIT_JOB f $u65 e
WAIT 1
ADMIN status
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
@2 JOB_CREATED H:HOST:1
JOB_CREATED H:HOST:2
ERROR ARGUMENT_TOO_LARGE "Unique value too large"
ERROR ARGUMENT_TOO_LARGE "Unique value too large"
| f\t2\t0\t0
| .'
}

@test "maxqueue: a full function refuses new jobs with QUEUE_ERROR, coalescing still works" {
	run raw <<'EOF'
ADMIN create function f\r
ADMIN maxqueue f 2
REQ SUBMIT_JOB_BG f U1 a
WAIT 1
REQ SUBMIT_JOB f "" b
WAIT 1
REQ SUBMIT_JOB_HIGH_BG f "" c
WAIT 1
REQ SUBMIT_JOB_BG f U1 d
WAIT 1
ADMIN status
EOF
	assert_success
	assert_output '| OK\r
| OK\r
JOB_CREATED H:HOST:1
JOB_CREATED H:HOST:2
ERROR QUEUE_ERROR "Job queue is full"
JOB_CREATED H:HOST:1
| f\t2\t0\t0
| .'
}

@test "maxqueue with three numbers limits each priority against the total" {
	run raw <<'EOF'
ADMIN create function f\r
ADMIN maxqueue f 3 2 1
REQ SUBMIT_JOB_LOW_BG f "" l1
WAIT 1
REQ SUBMIT_JOB_BG f "" n1
WAIT 1
REQ SUBMIT_JOB_BG f "" n2
WAIT 1
REQ SUBMIT_JOB_HIGH_BG f "" h1
WAIT 1
REQ SUBMIT_JOB_HIGH_BG f "" h2
WAIT 1
ADMIN maxqueue f
REQ SUBMIT_JOB_LOW_BG f "" l3
WAIT 1
ADMIN prioritystatus
EOF
	assert_success
	assert_output '| OK\r
| OK\r
JOB_CREATED H:HOST:1
JOB_CREATED H:HOST:2
ERROR QUEUE_ERROR "Job queue is full"
JOB_CREATED H:HOST:3
ERROR QUEUE_ERROR "Job queue is full"
| OK\r
JOB_CREATED H:HOST:4
| f\t1\t1\t2\t0
| .'
}

@test "a thousand pipelined submissions get a thousand JOB_CREATED in order" {
	local i script=
	for i in $(seq 1 1000); do
		script+="REQ SUBMIT_JOB_BG f \"\" job$i"$'\n'
	done
	script+=$'WAIT 1000\nADMIN status\n'
	run raw <<<"$script"
	assert_success
	[ "${#lines[@]}" -eq 1002 ]
	assert_line --index 0 'JOB_CREATED H:HOST:1'
	assert_line --index 999 'JOB_CREATED H:HOST:1000'
	assert_line --index 1000 '| f\t1000\t0\t0'
	[ "$(sort -u <<<"$output" | wc -l)" -eq 1002 ]
}

@test "a 64-byte unique: gm keeps it whole and coalesces, gearmand truncates it" {
	local u64
	u64=$(printf 'u%.0s' {1..64})
	run raw <<EOF
REQ SUBMIT_JOB_BG f $u64 a
WAIT 1
@2 REQ SUBMIT_JOB_BG f $u64 b
@2 WAIT 1
ADMINSORT show unique jobs
EOF
	assert_success
	if is_gm; then
		assert_output "JOB_CREATED H:HOST:1
@2 JOB_CREATED H:HOST:1
| $u64
| ."
	else
		# protocol.md §3.2: stored as 63 bytes, so it never matches.
		assert_output "JOB_CREATED H:HOST:1
@2 JOB_CREATED H:HOST:2
| ${u64%u}
| ${u64%u}
| ."
	fi
}
