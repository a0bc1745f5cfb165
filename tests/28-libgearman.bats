#!/usr/bin/env bats
# Compatibility: a client and a worker on libgearman (gearmand 1.1.20's C
# library), tests/clients/gmlib.c, for what the CLI cannot express:
# exceptions with GEARMAN_CLIENT_EXCEPTION, every callback, status polling
# by handle and by unique id, worker ids and timeouts.

load helper
bats_require_minimum_version 1.5.0

setup() {
	server_start s
	GMLIB=$GM_BUILD/tests/clients/gmlib
}

teardown() {
	spawn_kill
	kill_started
}

gmlib() {
	timeout 60 "$GMLIB" -p "$PORT" "$@"
}

# A raw worker for FUNC: grabs one job, then sends the lines on stdin.
raw_worker() {
	local f=$1 script=$BATS_TEST_TMPDIR/worker.$1
	{
		printf 'REQ CAN_DO %s\nPOLL JOB_ASSIGN REQ GRAB_JOB\n' "$f"
		cat
		printf 'SYNC\nCLOSED\n'
	} >"$script"
	spawn "$GM_BUILD/tests/tools/gmraw" -p "$PORT" -t 30000 "$script" \
	    >/dev/null
	wait_workers "$f" 1
}

@test "libgearman: every callback of a foreground task, in order" {
	raw_worker fancy <<'EOF'
REQ WORK_STATUS %H 1 4
REQ WORK_DATA %H d1
REQ WORK_WARNING %H w1
REQ WORK_STATUS %H 3 4
REQ WORK_COMPLETE %H done
EOF
	run gmlib client events fancy x
	assert_success
	assert_output 'status 1/4
data d1
warning w1
status 3/4
complete done'
}

@test "libgearman: WORK_FAIL calls the fail callback" {
	raw_worker f <<'EOF'
REQ WORK_FAIL %H
EOF
	run gmlib client events f x
	assert_failure 1
	assert_output 'fail'
}

@test "libgearman: GEARMAN_CLIENT_EXCEPTION delivers the exception data" {
	raw_worker exc <<'EOF'
REQ WORK_DATA %H partial
REQ WORK_EXCEPTION %H boom
EOF
	run gmlib -e client events exc x
	assert_failure 1
	assert_output 'data partial
exception boom'
}

@test "libgearman: an exception without the option: gm fails the task, gearmand hangs" {
	raw_worker exc <<'EOF'
REQ WORK_EXCEPTION %H boom
EOF
	# gm answers at once (a generous deadline costs nothing); gearmand
	# never does, so its run ends at a short one.
	run --separate-stderr gmlib -t "$(is_gm && echo 30000 || echo 3000)" \
	    client events exc x
	assert_failure 1
	if is_gm; then
		# protocol.md §11: WORK_FAIL without the trailing NUL.
		assert_output 'fail'
		[ "$stderr" = '' ]
	else
		assert_output ''
		[[ $stderr == 'gmlib: run_tasks: GEARMAN_TIMEOUT' ]]
	fi
}

@test "libgearman: job status and unique status while queued, running, gone" {
	run gmlib client bg q x U1
	assert_success
	assert_output "$(host_prefix):1"
	run gmlib client status "$(host_prefix):1"
	assert_output '1 0 0 0'
	run gmlib client ustatus U1
	assert_output '1 0 0 0'
	spawn "$GM_BUILD/tests/tools/gmraw" -p "$PORT" -t 30000 >/dev/null \
	    "$BATS_TEST_DIRNAME/clients/hold-job.raw"
	wait_until 15 eval '[ "$(gmlib client status "$(host_prefix):1")" = "1 1 3 7" ]'
	run gmlib client ustatus U1
	assert_output '1 1 3 7'
	spawn_kill
	wait_status q '1 0 0'
	run gmlib client status "$(host_prefix):1"
	assert_output '1 0 0 0'
	run gmlib client status "$(host_prefix):2"
	assert_output '0 0 0 0'
	run gmlib client ustatus nope
	assert_output '0 0 0 0'
}

@test "libgearman: background priorities and coalescing by unique" {
	run gmlib client bg q low-job "" low
	assert_output "$(host_prefix):1"
	run gmlib client bg q normal-job
	assert_output "$(host_prefix):2"
	run gmlib client bg q high-job U1 high
	assert_output "$(host_prefix):3"
	run gmlib client bg q other U1 low
	assert_output "$(host_prefix):3"
	run admin prioritystatus
	assert_output $'q\t1\t1\t1\t0\n.'
	run timeout 20 gearman -w -c 3 -f q
	assert_success
	assert_output 'high-jobnormal-joblow-job'
}

@test "libgearman: echo" {
	run gmlib client echo hello
	assert_success
	assert_output 'echo ok'
}

@test "libgearman worker: identifier and timeout registration, jobs served" {
	spawn "$GMLIB" -p "$PORT" -i cw1 -T 5000 worker rev fail
	wait_workers fail 1
	local out
	out=$(admin workers | sed -E 's/^[0-9]+ /FD /' | sort)
	assert_equal "$out" $'.\nFD 127.0.0.1 - :\nFD 127.0.0.1 cw1 : rev fail'
	run gmlib client events rev hello
	assert_success
	assert_output 'complete olleh'
	run gmlib client events fail x
	assert_failure 1
	assert_output 'fail'
	run admin status
	assert_line $'rev\t0\t0\t1'
	assert_line $'fail\t0\t0\t1'
}

@test "libgearman worker: -c exits after its jobs; gearman CLI client gets results" {
	gmlib client bg rev abc
	spawn "$GMLIB" -p "$PORT" -c 2 worker rev
	local w=$SPAWNED
	run gearman -p "$PORT" -f rev xyz
	assert_success
	assert_output zyx
	wait_until 10 eval "! pid_alive $w"
	# The server sees the worker leave after it has exited.
	wait_status rev '0 0 0'
	run admin status
	assert_output $'rev\t0\t0\t0\n.'
}
