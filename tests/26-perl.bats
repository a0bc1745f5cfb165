#!/usr/bin/env bats
# Compatibility: Perl's Gearman::Client and Gearman::Worker
# (libgearman-client-perl) against the server, through the drivers in
# tests/clients/perl-*.pl.

load helper
load 26-clients-helper

pclient() {
	timeout 60 perl "$CLIENTS/perl-client.pl" "$@"
}

# A Perl worker for FUNCS, registered before return.
pworker() {
	spawn perl "$CLIENTS/perl-worker.pl" "$@"
	wait_workers "${@: -1}" 1
}

@test "perl: do_task through a Perl worker" {
	pworker rev upper
	run pclient do rev hello
	assert_success
	assert_output olleh
	run pclient do upper hello
	assert_success
	assert_output HELLO
}

@test "perl: do_task through a gearman -w worker" {
	spawn gearman -w -f rev -- rev
	wait_workers rev 1
	run pclient do rev $'hello\n'
	assert_success
	assert_output 'olleh'
}

@test "perl: a Perl worker's status, data and completion reach the client" {
	pworker progress
	run pclient events progress x
	assert_success
	assert_output 'status 1/2
data part
status 2/2
complete done'
}

@test "perl: a failing job calls on_fail" {
	pworker fail
	run pclient events fail x
	assert_failure 1
	assert_output 'fail'
}

@test "perl: an exception reaches a client that asked for exceptions" {
	pworker exc
	GM_EXCEPTIONS=1 run pclient events exc x
	assert_failure 1
	assert_output 'exception boom'
}

@test "perl: an exception without the option: gm sends WORK_FAIL, gearmand breaks the client" {
	pworker exc
	run pclient events exc x
	if is_gm; then
		# protocol.md §11: a WORK_FAIL that clients can match.
		assert_failure 1
		assert_output 'fail'
	else
		# gearmand's WORK_FAIL carries a trailing NUL in the handle.
		assert_failure 255
		assert_line --index 0 --partial 'Got work_fail for unknown handle'
	fi
}

@test "perl: a Perl worker whose job dies keeps serving (gearmand's ERROR makes it exit)" {
	pworker die echo
	local wpid=$SPAWNED
	run pclient do die x
	# Gearman::Worker sent WORK_EXCEPTION, then WORK_FAIL for the job
	# (gearmand's WORK_FAIL with a trailing NUL breaks the client: 255).
	assert_failure
	if is_gm; then
		assert_failure 1
		run pclient do echo y
		assert_success
		assert_output y
		pid_alive "$wpid"
	else
		# gearmand answers the WORK_FAIL with ERROR JOB_NOT_FOUND; the
		# worker dies on it ("unexpected packet type: error").
		wait_until 15 eval "! pid_alive $wpid"
	fi
}

@test "perl: dispatch_background, then get_status while queued and after" {
	run pclient bg nobody x
	assert_success
	assert_output "127.0.0.1:$PORT//$(host_prefix):1"
	local h=$output
	run pclient status "$h"
	assert_success
	assert_output 'known=1 running=0 progress=0/0'
	run admin status
	assert_output $'nobody\t1\t0\t0\n.'
	pworker -c 1 echo
	run pclient bg echo y
	assert_success
	wait_status echo '0 0 0'
	run pclient status "127.0.0.1:$PORT//$(host_prefix):2"
	assert_output 'known=0 running=0 progress=0/0'
}

@test "perl: background jobs with a unique coalesce, priorities order the queue" {
	run pclient bg pq low-job "" low
	assert_success
	run pclient bg pq normal-job
	assert_success
	run pclient bg pq high-job "" high
	assert_success
	run pclient bg pq dup U1
	run pclient bg pq dup2 U1
	assert_success
	assert_output "127.0.0.1:$PORT//$(host_prefix):4"
	run admin prioritystatus
	assert_output $'pq\t1\t2\t1\t0\n.'
	run timeout 20 gearman -w -c 4 -f pq
	assert_success
	assert_output 'high-jobnormal-jobduplow-job'
}

@test "perl: a task set runs its tasks concurrently on two workers" {
	pworker rev
	spawn perl "$CLIENTS/perl-worker.pl" rev
	wait_workers rev 2
	run pclient set rev abc def ghi jkl
	assert_success
	assert_output 'abc=cba
def=fed
ghi=ihg
jkl=lkj'
}

@test "perl: a task set with two tasks of the same uniq completes both" {
	# Both submissions coalesce onto one job before a worker is there;
	# each must get its own JOB_CREATED and WORK_COMPLETE.
	timeout 60 perl "$CLIENTS/perl-client.pl" setuniq rev same abc def \
	    >"$BATS_TEST_TMPDIR/out" 3>&- </dev/null &
	local cpid=$!
	wait_status rev '1 0 0'
	pworker rev
	wait "$cpid"
	run cat "$BATS_TEST_TMPDIR/out"
	assert_output '1=cba
2=cba'
}

@test "perl: a worker's client_id shows in workers" {
	pworker -i perl-w1 rev
	local out
	out=$(admin workers | sed -E 's/^[0-9]+ /FD /' | sort)
	assert_equal "$out" $'.\nFD 127.0.0.1 - :\nFD 127.0.0.1 perl-w1 : rev'
}

@test "perl: get_job_server_status parses the status reply" {
	pworker rev
	pclient bg nobody a
	pclient bg nobody b
	run pclient admin
	assert_success
	assert_output 'nobody 2 0 0
rev 0 0 1'
}
