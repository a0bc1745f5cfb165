#!/usr/bin/env bats
# gm-submit against one server: options, payloads, output, exit status.
# Where gm-submit differs from `gearman` on purpose, the test runs both.

bats_require_minimum_version 1.5.0
load helper
load 30-tools-helper

setup_file() {
	server_start a
	test_worker "$PORT" echo echo
	test_worker "$PORT" upper upper
	test_worker "$PORT" fancy fancy
	test_worker "$PORT" exc exc
	test_worker "$PORT" fail fail
	test_worker "$PORT" zero zero
	test_worker "$PORT" gate2 gate2
	test_worker "$PORT" hold hold
	test_worker "$PORT" stream stream
	export PORT PORT_a DIR_a PID_a
}

teardown_file() {
	kill_started
}

@test "-h and --help print usage to stdout and exit 0" {
	run --separate-stderr gm-submit -h
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "usage: gm-submit "* ]]
	[ -z "$stderr" ]
	run --separate-stderr gm-submit --help
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "usage: gm-submit "* ]]
	run --separate-stderr gm-submit -H
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "usage: gm-submit "* ]]
}

@test "the usage shows -f as required, --status as the other form" {
	run --separate-stderr gm-submit -H
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "usage: gm-submit [-bHILNnPsVv] -f function [-f function ...] "* ]]
	[[ "$output" == *"gm-submit [-h host[:port]] [-p port] [-t ms] --status handle"$'\n'* ]]
	# Then the liveness bound.
	[[ "$output" == *"within 2 x secs (default 10; 0: off)" ]]
}

@test "a bad option prints usage to stderr and exits 2" {
	run --separate-stderr gm-submit --bogus -f echo x
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[[ "$stderr" == *"usage: gm-submit "* ]]
}

@test "no function is a usage error (2)" {
	run --separate-stderr gm-submit x
	[ "$status" -eq 2 ]
	[[ "$stderr" == "gm-submit: no function given (-f)"* ]]
}

@test "-V prints the version" {
	run gm-submit -V
	[ "$status" -eq 0 ]
	[ "$output" = "gm-submit 0.1.0" ]
}

@test "stdin is one job and the result comes back byte for byte" {
	run bash -c 'printf "hello\n" | gm-submit -f upper | od -c'
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'HELLO\n' | od -c)" ]
}

@test "each argument is one job, results in order" {
	run gm-submit -f upper abc def
	[ "$status" -eq 0 ]
	[ "$output" = "ABCDEF" ]
}

@test "binary payload with NUL bytes round-trips exactly" {
	printf 'a\0b\0\n\377\0' >"$BATS_TEST_TMPDIR/in"
	gm-submit -f echo <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out"
	cmp "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/out"
	[ "$(stat -c %s "$BATS_TEST_TMPDIR/out")" -eq 7 ]
}

@test "a 50 MB payload round-trips through a worker" {
	head -c 52428800 /dev/urandom >"$BATS_TEST_TMPDIR/big"
	gm-submit -f echo <"$BATS_TEST_TMPDIR/big" >"$BATS_TEST_TMPDIR/out"
	cmp "$BATS_TEST_TMPDIR/big" "$BATS_TEST_TMPDIR/out"
}

@test "-s submits one empty job without reading stdin" {
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	exec 5<>"$BATS_TEST_TMPDIR/fifo"
	run timeout 10 gm-submit -s -f upper <"$BATS_TEST_TMPDIR/fifo"
	exec 5>&-
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
}

@test "arguments are the data: stdin is not read" {
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	exec 5<>"$BATS_TEST_TMPDIR/fifo"
	run timeout 10 gm-submit -f upper x <"$BATS_TEST_TMPDIR/fifo"
	exec 5>&-
	[ "$status" -eq 0 ]
	[ "$output" = "X" ]
}

@test "-n: one job per line, newline kept" {
	run bash -c 'printf "one\ntwo\n" | gm-submit -n -P -f upper'
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'upper: ONE\nupper: TWO')" ]
}

@test "-N strips the newline only; gearman eats a real byte" {
	run bash -c 'printf "one\ntwo" | gm-submit -N -f upper'
	[ "$status" -eq 0 ]
	[ "$output" = "ONETWO" ]
	run bash -c 'printf "one\ntwo" | gearman -N -f upper'
	[ "$output" = "ONETW" ]
}

@test "-n: a line longer than 8192 bytes is one job; gearman splits it" {
	head -c 10000 /dev/zero | tr '\0' x >"$BATS_TEST_TMPDIR/line"
	echo >>"$BATS_TEST_TMPDIR/line"
	gm-submit -n -P -f echo <"$BATS_TEST_TMPDIR/line" \
	    >"$BATS_TEST_TMPDIR/out"
	printf 'echo: ' | cat - "$BATS_TEST_TMPDIR/line" |
	    cmp - "$BATS_TEST_TMPDIR/out"
	gearman -n -P -f echo <"$BATS_TEST_TMPDIR/line" \
	    >"$BATS_TEST_TMPDIR/gout"
	[ "$(grep -o 'echo: ' "$BATS_TEST_TMPDIR/gout" | wc -l)" -eq 2 ]
}

@test "-n: 10,000 lines come back complete and in order" {
	seq 10000 >"$BATS_TEST_TMPDIR/in"
	gm-submit -n -f echo <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out"
	cmp "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/out"
}

@test "-n -j 2: results print in input order though workers finish out of order" {
	run bash -c 'seq 6 | gm-submit -n -j 2 -f gate2'
	[ "$status" -eq 0 ]
	[ "$output" = "$(seq 6)" ]
}

@test "--unordered prints results as they finish" {
	run bash -c 'seq 6 | gm-submit -n -j 2 --unordered -f gate2'
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '2\n1\n4\n3\n6\n5')" ]
}

@test "-j N keeps at most N jobs in flight" {
	seq 10 | gm-submit -n -j 3 -f hold >/dev/null 2>&1 3>&- &
	local pid=$!
	wait_until 15 eval '[ "$(status_total $PORT hold)" -eq 3 ]'
	[ "$(status_total "$PORT" hold)" -eq 3 ]
	kill "$pid"
	wait "$pid" || true
}

@test "-P prefixes each result with its function; payload goes to each -f" {
	run gm-submit -P -f upper -f echo hi
	[ "$status" -eq 0 ]
	[ "$output" = "upper: HIecho: hi" ]
}

@test "data, warnings and progress go to the right streams in order" {
	gm-submit -f fancy x >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err"
	[ "$(cat "$BATS_TEST_TMPDIR/out")" = "d1done" ]
	[ "$(cat "$BATS_TEST_TMPDIR/err")" = \
	    "$(printf 'fancy: 1/4 25%%\nw1fancy: 3/4 75%%')" ]
	# gearman prints progress to stdout, scrambled with the data.
	gearman -f fancy x >"$BATS_TEST_TMPDIR/gout" 2>/dev/null
	[ "$(cat "$BATS_TEST_TMPDIR/gout")" = \
	    "$(printf 'd1done25%% Complete\n75%% Complete')" ]
}

@test "partial results are written as they arrive" {
	gm-submit -f stream x >"$BATS_TEST_TMPDIR/out" 2>&1 3>&- &
	local pid=$!
	wait_until 15 grep -qx first "$BATS_TEST_TMPDIR/out"
	pid_alive "$pid"
	kill "$pid"
	wait "$pid" || true
}

@test "on a terminal, progress is one line redrawn in place" {
	run script -qec "gm-submit -f fancy x" /dev/null
	[ "$status" -eq 0 ]
	[[ "$output" == *$'\rfancy: 1/4 25%\e[K'*$'\rfancy: 3/4 75%\e[K'* ]]
	[[ "$output" == *$'\r\e[K'* ]]
}

@test "an empty argument or -N line is an empty job; gearman skips it" {
	run gm-submit -b -f empty1 ""
	[ "$status" -eq 0 ]
	[ "$(status_total "$PORT" empty1)" -eq 1 ]
	run bash -c 'printf "a\n\nb\n" | gm-submit -b -N -f empty1'
	[ "${#lines[@]}" -eq 3 ]
	[ "$(status_total "$PORT" empty1)" -eq 4 ]
	run gearman -b -f empty1 ""
	[ "$status" -eq 0 ]
	[[ "$output" == *INVALID_ARGUMENT* ]]
	[ "$(status_total "$PORT" empty1)" -eq 4 ]
}

@test "a status with denominator 0 does not crash it; gearman dies of SIGFPE" {
	run --separate-stderr gm-submit -f zero x
	[ "$status" -eq 0 ]
	[ "$output" = "ok" ]
	[ "$stderr" = "zero: 1/0" ]
	run gearman -f zero x
	[ "$status" -eq 136 ]
}

@test "a failing job exits 1 with its partial output" {
	run --separate-stderr gm-submit -f fail x
	[ "$status" -eq 1 ]
	[ "$output" = "partial" ]
	[[ "$stderr" =~ ^"gm-submit: fail: argument 1: job H:"[^\ ]+" failed"$ ]]
}

@test "an exception reaches stderr and exits 1; gearman hangs on gearmand" {
	run --separate-stderr gm-submit -f exc x
	[ "$status" -eq 1 ]
	[ "$output" = "" ]
	[[ "$stderr" =~ ^"boom"$'\n'"gm-submit: exc: argument 1: job H:"[^\ ]+" failed: boom"$ ]]
	# gm answers at once (a generous deadline costs nothing); gearmand
	# never does, so its run ends at a short one.
	run timeout "$(is_gm && echo 60 || echo 3)" gearman -f exc x
	if is_gm; then
		# gm-server sends gearman a WORK_FAIL it recognises.
		[ "$status" -eq 1 ]
	else
		[ "$status" -eq 124 ]
	fi
}

@test "-b prints the job handle; gearman prints nothing" {
	run gm-submit -b -f nobody1 x
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^H:[^[:space:]]+:[0-9]+$ ]]
	[ "$(status_total "$PORT" nobody1)" -eq 1 ]
	run gearman -b -f nobody1 x
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
}

@test "-b -n prints one handle per line, in input order" {
	run bash -c 'seq 3 | gm-submit -b -n -f nobody2'
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	[ "$(status_total "$PORT" nobody2)" -eq 3 ]
	# handles are numbered in submission order on one server
	local a=${lines[0]##*:} b=${lines[1]##*:} c=${lines[2]##*:}
	[ "$a" -lt "$b" ] && [ "$b" -lt "$c" ]
}

@test "-I and -L choose the priority queue" {
	gm-submit -b -I -f prio h >/dev/null
	gm-submit -b -f prio n >/dev/null
	gm-submit -b -L -f prio l >/dev/null
	gm-submit -b -L -f prio l2 >/dev/null
	run admin prioritystatus
	[[ "$output" == *"$(printf 'prio\t1\t1\t2\t0')"* ]]
}

@test "-u coalesces equal ids into one job" {
	run gm-submit -b -u fixed -f co1 x
	local h=$output
	run gm-submit -b -u fixed -f co1 y
	[ "$output" = "$h" ]
	[ "$(status_total "$PORT" co1)" -eq 1 ]
}

@test "-u with -n gives each line its own id; gearman coalesces them all" {
	run bash -c 'printf "a\nb\nc\n" | gm-submit -b -n -u batch -f co2'
	[ "$status" -eq 0 ]
	[ "$(status_total "$PORT" co2)" -eq 3 ]
	run admin "show unique jobs"
	[[ "$output" == *batch-1*batch-2*batch-3* ||
	    "$output" == *batch-* ]]
	printf 'a\nb\nc\n' | gearman -b -n -u batch -f co3
	[ "$(status_total "$PORT" co3)" -eq 1 ]
}

@test "-u - coalesces lines with equal payloads" {
	run bash -c 'printf "u1\nu1\nu2\n" | gm-submit -b -N -u - -f dash'
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	[ "${lines[0]}" = "${lines[1]}" ]
	[ "${lines[0]}" != "${lines[2]}" ]
	[ "$(status_total "$PORT" dash)" -eq 2 ]
}

@test "--status tells queued, running and unknown jobs apart" {
	run gm-submit -b -f nobody3 x
	local h=$output
	run gm-submit --status "$h"
	[ "$status" -eq 0 ]
	[ "$output" = "$h: queued" ]
	hold_submit y
	wait_until 15 eval '[ "$(gm-submit --status "$HOLD_HANDLE")" = "$HOLD_HANDLE: running 0/0" ]'
	run gm-submit --status "${h%:*}:999999"
	[ "$status" -eq 1 ]
	[ "$output" = "${h%:*}:999999: unknown" ]
	kill "$HOLD_PID"
	wait "$HOLD_PID" || true
}

# hold_submit PAYLOAD: submit a job of hold (its worker takes it and never
# answers) in the background; sets HOLD_PID, and HOLD_HANDLE once the
# server has created the job.
hold_submit() {
	local err=$BATS_TEST_TMPDIR/hold-$1.err
	gm-submit -v -f hold "$1" >/dev/null 2>"$err" 3>&- &
	HOLD_PID=$!
	wait_until 15 grep -q 'created on' "$err"
	HOLD_HANDLE=$(sed -n 's/^gm-submit: hold: \(.*\): created on .*/\1/p' \
	    "$err")
	[ -n "$HOLD_HANDLE" ]
}

@test "--status of a running job shows its progress" {
	hold_submit z
	wait_until 15 eval '[ "$(gm-submit --status "$HOLD_HANDLE")" = "$HOLD_HANDLE: running 0/0" ]'
	kill "$HOLD_PID"
	wait "$HOLD_PID" || true
}

@test "--at submits a scheduled job and prints its handle" {
	run gm-submit --at +3600 -f later x
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^H:[^[:space:]]+:[0-9]+$ ]]
	[ "$(status_total "$PORT" later)" -eq 1 ]
	run gm-submit --at "$(($(date +%s) + 3600))" -f later y
	[ "$status" -eq 0 ]
	[ "$(status_total "$PORT" later)" -eq 2 ]
}

@test "--at rejects a bad time and a priority (2)" {
	run --separate-stderr gm-submit --at tomorrow -f later x
	[ "$status" -eq 2 ]
	[[ "$stderr" == "gm-submit: --at tomorrow: not a time"* ]]
	run gm-submit --at +10 -I -f later x
	[ "$status" -eq 2 ]
}

@test "-t: a job not done in time exits 4; gearman exits 0" {
	run --separate-stderr gm-submit -t 300 -f noworker x
	[ "$status" -eq 4 ]
	[[ "$stderr" =~ ^gm-submit:\ noworker:\ H:.*:\ timed\ out\ after\ 300\ ms$ ]]
	run gearman -t 300 -f noworker x
	[ "$status" -eq 0 ]
}

@test "server down: exit 3; gearman exits 0" {
	local p
	port_hold
	p=$HELD_PORT
	run --separate-stderr gm-submit -h "127.0.0.1:$p" -f echo x
	[ "$status" -eq 3 ]
	[ "$stderr" = "gm-submit: no server reachable" ]
	run gearman -h 127.0.0.1 -p "$p" -f echo x
	[ "$status" -eq 0 ]
}

@test "a host name that does not resolve: exit 3" {
	run --separate-stderr gm-submit -v -h no.such.host.invalid -f echo x
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"no.such.host.invalid:4730: host not found"* ]]
}

@test "queue full: the server refuses, exit 5; gearman exits 0" {
	# maxqueue applies to functions that exist: the first job makes it.
	run gm-submit -b -f qfull one
	[ "$status" -eq 0 ]
	admin "maxqueue qfull 1" >/dev/null
	run --separate-stderr gm-submit -b -f qfull two
	[ "$status" -eq 5 ]
	[[ "$stderr" == *"qfull: job refused: QUEUE_ERROR"* ]]
	run gearman -b -f qfull three
	[ "$status" -eq 0 ]
	[ "$(status_total "$PORT" qfull)" -eq 1 ]
}

@test "-p gives the port of hosts named without one" {
	run env -u GEARMAN_SERVER gm-submit -h 127.0.0.1 -p "$PORT" -f upper x
	[ "$status" -eq 0 ]
	[ "$output" = "X" ]
}

@test "GEARMAN_SERVER is used without -h, and -h overrides it" {
	run env GEARMAN_SERVER="127.0.0.1:$PORT" gm-submit -f upper a
	[ "$output" = "A" ]
	port_hold
	run env GEARMAN_SERVER="127.0.0.1:$HELD_PORT" \
	    gm-submit -h "127.0.0.1:$PORT" -f upper b
	[ "$status" -eq 0 ]
	[ "$output" = "B" ]
}

@test "-v says where each job was created, on stderr" {
	run --separate-stderr gm-submit -v -f upper x
	[ "$status" -eq 0 ]
	[ "$output" = "X" ]
	[[ "$stderr" =~ ^gm-submit:\ upper:\ H:.*:[0-9]+:\ created\ on\ 127.0.0.1:$PORT$ ]]
}

@test "-i writes the pid file and removes it at exit" {
	local pf=$BATS_TEST_TMPDIR/pid
	gm-submit -i "$pf" -f noworker2 x >/dev/null 2>&1 3>&- &
	local pid=$!
	wait_until 15 test -s "$pf"
	[ "$(cat "$pf")" = "$pid" ]
	kill "$pid"
	wait "$pid" || true
	[ ! -e "$pf" ]
	run gm-submit -i "$pf" -f upper x
	[ "$status" -eq 0 ]
	[ ! -e "$pf" ]
}

@test "-i with an unwritable pid file: exit 6" {
	run --separate-stderr gm-submit -i /nonexistent/dir/pid -f upper x
	[ "$status" -eq 6 ]
	[[ "$stderr" == "gm-submit: /nonexistent/dir/pid: "* ]]
}

@test "-t: a JOB_CREATED that comes after its job gave up is not taken for the next" {
	# A scripted server: it answers the first submission only once the
	# second has arrived, which -j 1 sends only after the first timed out.
	local p pf=$BATS_TEST_TMPDIR/port
	perl -e '
	use strict; use IO::Socket::INET;
	my $l = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1",
	    LocalPort => 0) or die;
	open(my $f, ">", "$ARGV[0].tmp") or die;
	print $f $l->sockport, "\n"; close $f;
	rename "$ARGV[0].tmp", $ARGV[0];
	our $c;
	sub full { my $n = shift; my $b = "";
	    while (length($b) < $n) { my $r = sysread($c, $b, $n - length $b,
	        length $b); die "eof\n" unless $r; } $b }
	sub pin { my ($m, $t, $n) = unpack("a4NN", full(12));
	    return ($t, $n ? full($n) : ""); }
	sub out { my ($t, $b) = @_;
	    syswrite($c, "\0RES" . pack("NN", $t, length $b) . $b); }
	while ($c = $l->accept) {
	    binmode $c;
	    my $subs = 0;
	    eval { while (1) {
	        my ($t, $b) = pin();
	        if ($t == 26) { out(27, $b); next; }
	        next unless $t == 7;
	        if (++$subs == 2) { out(8, "H:x:1"); out(8, "H:x:2");
	            out(13, "H:x:2\0B"); }
	    } };
	    close $c;
	}' "$pf" 3>&- &
	echo $! >>"$BATS_FILE_TMPDIR/pids"
	wait_until 10 test -s "$pf"
	p=$(cat "$pf")
	# The first job always times out; the second must be done within -t
	# of its submission, so -t is long enough for a loaded machine.
	run --separate-stderr gm-submit -j 1 -t 5000 -h "127.0.0.1:$p" -f f a b
	[ "$status" -eq 4 ]
	[ "$output" = "B" ]
	[ "$stderr" = "$(printf 'gm-submit: f: timed out after 5000 ms\ngm-submit: 1 of 2 jobs failed')" ]
}

@test "output that cannot be written: exit 6" {
	run --separate-stderr bash -c 'gm-submit -f upper x >/dev/full'
	[ "$status" -eq 6 ]
	[ "$stderr" = "gm-submit: write: No space left on device" ]
}

@test "running out of memory is a local error: exit 6, not a failed job" {
	case $GM_BUILD in *-san) skip "the sanitizer build needs unlimited virtual memory" ;; esac
	run bash -c 'ulimit -v 300000; head -c 400M /dev/zero |
	    gm-submit -h "$GEARMAN_SERVER" -f oom'
	assert_failure 6
	assert_output --partial "fatal: xreallocarray"
}
