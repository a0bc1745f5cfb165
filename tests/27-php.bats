#!/usr/bin/env bats
# Compatibility: PHP's gearman extension (php-gearman) against the server,
# through the drivers in tests/clients/php-*.php.

load helper
load 26-clients-helper

phpc() {
	timeout 60 php "$CLIENTS/php-client.php" "$@"
}

# A PHP worker for FUNCS, registered before return.
phpw() {
	spawn php "$CLIENTS/php-worker.php" "$@"
	wait_workers "${@: -1}" 1
}

@test "php: doNormal, doHigh and doLow through a PHP worker" {
	phpw rev upper
	run phpc do rev hello
	assert_success
	assert_output olleh
	run phpc do upper hello high
	assert_success
	assert_output HELLO
	run phpc do rev abc low U1
	assert_success
	assert_output cba
}

@test "php: doNormal through a gearman -w worker, binary-safe" {
	spawn gearman -w -f cat -- cat
	wait_workers cat 1
	run phpc do cat $'a b\tc'
	assert_success
	assert_output $'a b\tc'
}

@test "php: a failed job gives GEARMAN_WORK_FAIL" {
	phpw fail
	run phpc do fail x
	assert_failure 1
	assert_output 'FAILED GEARMAN_WORK_FAIL'
}

@test "php: status, data and completion callbacks in order" {
	phpw progress
	run phpc events progress x
	assert_success
	assert_output 'status 1/2
data part
status 2/2
complete done'
}

@test "php: the fail callback" {
	phpw fail
	run phpc events fail x
	assert_failure 1
	assert_output 'fail'
}

@test "php: an exception reaches the exception callback" {
	phpw exc
	run phpc events exc x exc
	assert_success
	assert_output 'exception boom'
	run phpc do exc x
	assert_failure 1
	assert_output 'FAILED GEARMAN_WORK_EXCEPTION'
}

@test "php: doBackground variants queue at their priority" {
	run phpc bg q low-job low
	assert_success
	assert_output "$(host_prefix):1"
	run phpc bg q normal-job
	assert_output "$(host_prefix):2"
	run phpc bg q high-job high
	assert_output "$(host_prefix):3"
	run admin prioritystatus
	assert_output $'q\t1\t1\t1\t0\n.'
	run timeout 20 gearman -w -c 3 -f q
	assert_success
	assert_output 'high-jobnormal-joblow-job'
}

@test "php: jobStatus and jobStatusByUniqueKey for queued, running and unknown jobs" {
	phpc bg q x normal U1
	run phpc status "$(host_prefix):1"
	assert_success
	assert_output '1 0 0 0'
	run phpc ustatus U1
	assert_output '1 0 0 0'
	run phpc status "$(host_prefix):2"
	assert_output '0 0 0 0'
	run phpc ustatus nope
	assert_output '0 0 0 0'
	# A raw worker holds the job with progress 3/7.
	spawn "$GM_BUILD/tests/tools/gmraw" -p "$PORT" -t 30000 >/dev/null \
	    "$BATS_TEST_DIRNAME/clients/hold-job.raw"
	wait_until 15 eval '[ "$(phpc status "$(host_prefix):1")" = "1 1 3 7" ]'
	run phpc ustatus U1
	assert_output '1 1 3 7'
}

@test "php: background jobs with the same unique coalesce" {
	run phpc bg q a normal U1
	assert_output "$(host_prefix):1"
	run phpc bg q b high U1
	assert_output "$(host_prefix):1"
	run admin prioritystatus
	assert_output $'q\t0\t1\t0\t0\n.'
}

@test "php: several tasks run in one runTasks" {
	phpw rev
	spawn php "$CLIENTS/php-worker.php" rev
	wait_workers rev 2
	run phpc tasks rev abc def ghi
	assert_success
	assert_output 'abc=cba
def=fed
ghi=ihg'
}

@test "php: ping is an ECHO round trip" {
	run phpc ping
	assert_success
	assert_output pong
}

@test "php: a worker's setId shows in workers" {
	phpw -i php-w1 rev
	local out
	out=$(admin workers | sed -E 's/^[0-9]+ /FD /' | sort)
	assert_equal "$out" $'.\nFD 127.0.0.1 - :\nFD 127.0.0.1 php-w1 : rev'
}

@test "php and perl: a PHP client served by a Perl worker, and the reverse" {
	spawn perl "$CLIENTS/perl-worker.pl" upper
	wait_workers upper 1
	phpw rev
	run phpc do upper from-php
	assert_success
	assert_output FROM-PHP
	run timeout 60 perl "$CLIENTS/perl-client.pl" do rev from-perl
	assert_success
	assert_output lrep-morf
}
