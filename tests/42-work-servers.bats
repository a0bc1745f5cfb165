#!/usr/bin/env bats
# gm-work: servers.  Several at once, reconnecting after a restart, the
# server list from -h, -p and GEARMAN_SERVER, and the wire sequence.

bats_require_minimum_version 1.5.0
load helper
load 40-work-helper

# attempts FILE: how many failed connects a -v worker has logged.
attempts() {
	grep -c "cannot connect to" "$1" || true
}

@test "after a server restart: one line when the connection is lost, one when it is back" {
	work_start w -f rc -- cat
	# A -v twin logs every attempt, to see that several were made.
	work_start v -v -f rc2 -- cat
	server_stop s1
	# Held while it is down, so that it comes back on the same port.
	port_hold "$PORT"
	wait_until 20 grep -q "lost connection" "$(work_err w)"
	wait_until 30 eval '[ "$(attempts "$(work_err v)")" -ge 4 ]'
	server_start s1
	wait_until 30 grep -q "reconnected to" "$(work_err w)"
	wait_until 20 workers_for rc "$PORT" -gt 0
	run gm_client -f rc hello
	assert_output "hello"
	run cat "$(work_err w)"
	assert_line --index 0 --regexp \
	    "^gm-work: lost connection to 127\.0\.0\.1:$PORT \(.+\), reconnecting$"
	assert_line --index 1 "gm-work: reconnected to 127.0.0.1:$PORT"
	[ "${#lines[@]}" -eq 2 ]
}

@test "server down: gm-work logs one line, gearman -w a line per attempt in a tight loop" {
	port_hold
	dead=$HELD_PORT
	NOWAIT=1 work_start w -h "127.0.0.1:$dead" -f down -- cat
	NOWAIT=1 WPORT=$dead gearman_w g -f down -- cat
	wait_until 30 eval '[ "$(wc -l <"$(work_err g)")" -ge 1000 ]'
	run cat "$(work_err w)"
	assert_output "gm-work: cannot connect to 127.0.0.1:$dead, will keep trying: Connection refused"
}

@test "a worker started before its server logs one line, then connects" {
	port_hold
	port=$HELD_PORT
	NOWAIT=1 work_start w -h "127.0.0.1:$port" -f late -- cat
	NOWAIT=1 work_start v -v -h "127.0.0.1:$port" -f late2 -- cat
	wait_until 30 eval '[ "$(attempts "$(work_err v)")" -ge 4 ]'
	PORT_late=$port server_start late
	wait_until 30 workers_for late "$port" -gt 0
	run cat "$(work_err w)"
	assert_line --index 0 \
	    "gm-work: cannot connect to 127.0.0.1:$port, will keep trying: Connection refused"
	assert_line --index 1 "gm-work: connected to 127.0.0.1:$port"
	[ "${#lines[@]}" -eq 2 ]
}

@test "several servers: it registers with each and takes work from each" {
	server_start s2
	work_start w -h "127.0.0.1:$PORT_s1,127.0.0.1:$PORT_s2" -f multi -- rev
	wait_until 20 workers_for multi "$PORT_s2" -gt 0
	run env GEARMAN_SERVER="127.0.0.1:$PORT_s1" timeout 20 gearman -f multi abc
	assert_output "cba"
	run env GEARMAN_SERVER="127.0.0.1:$PORT_s2" timeout 20 gearman -f multi xyz
	assert_output "zyx"
}

@test "several servers with -j 1: queued jobs on both are all done" {
	server_start s2
	d=$BATS_TEST_TMPDIR
	for i in 1 2 3; do
		GEARMAN_SERVER="127.0.0.1:$PORT_s1" submit_bg both "a$i" >/dev/null
		GEARMAN_SERVER="127.0.0.1:$PORT_s2" submit_bg both "b$i" >/dev/null
	done
	NOWAIT=1 work_start w -h "127.0.0.1:$PORT_s1" -h "127.0.0.1:$PORT_s2" \
	    -f both -- sh -c 'touch "$0/$(cat)"' "$d"
	for f in a1 a2 a3 b1 b2 b3; do
		wait_until 30 test -e "$d/$f"
	done
	wait_until 10 eval 'admin "$PORT_s1" status | grep -qx "both	0	0	1"'
	wait_until 10 eval 'admin "$PORT_s2" status | grep -qx "both	0	0	1"'
}

@test "a dead server in the list does not stop work from the live one" {
	port_hold
	dead=$HELD_PORT
	work_start w -h "127.0.0.1:$dead,127.0.0.1:$PORT" -f live -- rev
	run gm_client -f live abc
	assert_output "cba"
	grep -qxF "gm-work: cannot connect to 127.0.0.1:$dead, will keep trying: Connection refused" \
	    "$(work_err w)"
}

@test "-p sets the port of hosts given without one" {
	work_start w -h 127.0.0.1 -p "$PORT" -f port -- rev
	run gm_client -f port abc
	assert_output "cba"
}

@test "GEARMAN_SERVER is used without -h, and -h wins over it (gearman lets the variable win)" {
	port_hold
	dead=$HELD_PORT
	GEARMAN_SERVER="127.0.0.1:$PORT" work_start w -f envsrv -- rev
	work_stop w
	GEARMAN_SERVER="127.0.0.1:$dead" work_start w2 -h "127.0.0.1:$PORT" \
	    -f envsrv -- rev
	run gm_client -f envsrv abc
	assert_output "cba"
	work_stop w2
	# gearman -w ignores -h when GEARMAN_SERVER is set.
	run env GEARMAN_SERVER="127.0.0.1:$dead" timeout 20 gearman -w -c 1 \
	    -h 127.0.0.1 -p "$PORT" -f envsrv
	assert_success
	assert_output --partial "Connection to 127.0.0.1:$dead failed"
}

@test "a pid file that cannot be written: exit 1 with a message" {
	run --separate-stderr gm-work -i /nonexistent/dir/pid -f x -- cat
	assert_failure 1
	[ "$stderr" = "gm-work: /nonexistent/dir/pid: No such file or directory" ]
}

# fake_server PORTFILE LOG [split]: a one-connection server that logs the
# packets it gets, answers the first GRAB_JOB_UNIQ with NO_JOB, checks that
# nothing comes after PRE_SLEEP for a while, wakes the worker with NOOP,
# hands out one job, and logs the result and the next request.  With
# split, it waits for two GRAB_JOB_UNIQ, answers the first with NO_JOB and
# the second with a job (a job that came in between), and ends at the
# next request.  With silent, it answers nothing and ends when the worker
# hangs up.
fake_server() {
	perl -e '
	use strict; use IO::Socket::INET; use IO::Select;
	my ($pf, $log, $mode) = @ARGV;
	my $l = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1",
	    LocalPort => 0, ReuseAddr => 1) or die "listen: $!";
	open(my $p, ">", "$pf.tmp") or die; print $p $l->sockport, "\n";
	close $p; rename "$pf.tmp", $pf;
	open(my $o, ">", $log) or die; $o->autoflush(1);
	$l->blocking(1);
	my $c = $l->accept or die "accept: $!";
	binmode $c;
	my %n = (1 => "CAN_DO", 4 => "PRE_SLEEP", 13 => "WORK_COMPLETE",
	    16 => "ECHO_REQ",
	    22 => "SET_CLIENT_ID", 23 => "CAN_DO_TIMEOUT",
	    30 => "GRAB_JOB_UNIQ");
	sub rd { my $k = shift; my $b = "";
		while (length $b < $k) {
			my $r = sysread($c, $b, $k - length $b, length $b);
			exit 0 unless $r;
		}
		return $b; }
	sub pkt { my ($t) = unpack("x4NN", my $h = rd(12));
		my $len = unpack("x8N", $h); my $b = $len ? rd($len) : "";
		$b =~ s/\0/ /g;
		print $o ($n{$t} // "TYPE$t") . ($len ? " $b" : "") . "\n";
		return $t; }
	sub send_ { my ($t, $b) = @_;
		print $c "\0RES" . pack("NN", $t, length $b) . $b; }
	$c->autoflush(1);
	my $grabs = 0;
	while (1) {
		my $t = pkt();
		next if $mode eq "silent";
		if ($mode eq "split") {
			last if $t == 4 || ($t == 30 && $grabs == 2);
			next unless $t == 30 && ++$grabs == 2;
			send_(10, "");
			send_(31, "H:fake:1\0f1\0u-1\0payload");
			next;
		}
		if ($t == 30 && $grabs++ == 0) { send_(10, ""); }
		elsif ($t == 30 && $grabs == 2) {
			send_(31, "H:fake:1\0f1\0u-1\0payload");
		} elsif ($t == 30) { last; }
		if ($t == 4) {
			my $sel = IO::Select->new($c);
			print $o "EARLY\n" if $sel->can_read(0.5);
			send_(6, "");
		}
	}' "$1" "$2" "${3:-}"
}

# fake_start [MODE]: fake_server in the background, logging to $log; its
# pid in $fake, its host:port in $fake_addr.
fake_start() {
	local pf=$BATS_TEST_TMPDIR/fport
	log=$BATS_TEST_TMPDIR/wire
	fake_server "$pf" "$log" "${1:-}" 3>&- &
	fake=$!
	wait_until 20 test -s "$pf"
	fake_addr=127.0.0.1:$(cat "$pf")
}

# What a worker sends after registering, to fake_server without a MODE:
# it asks, sleeps on NO_JOB, asks on NOOP, completes the job, asks again.
WIRE_TAIL='GRAB_JOB_UNIQ
PRE_SLEEP
GRAB_JOB_UNIQ
WORK_COMPLETE H:fake:1 payload
GRAB_JOB_UNIQ'

@test "wire: SET_CLIENT_ID, CAN_DO_TIMEOUT per function, GRAB_JOB_UNIQ, PRE_SLEEP, quiet until NOOP" {
	fake_start
	NOWAIT=1 work_start w --id wire-test -t 5 -h "$fake_addr" \
	    -f f1 -f f2 -- cat
	wait "$fake"
	run cat "$log"
	assert_output "SET_CLIENT_ID wire-test
CAN_DO_TIMEOUT f1 7000
CAN_DO_TIMEOUT f2 7000
$WIRE_TAIL"
}

@test "wire: -j 2, a NO_JOB then a job: the worker asks again instead of neither asking nor sleeping" {
	fake_start split
	NOWAIT=1 work_start w --id wire-test -j 2 \
	    -h "$fake_addr" -f f1 -- cat
	# Without the third ask, the fifth line is the job's WORK_COMPLETE
	# and the server waits in vain: it is ended here (a zombie until
	# waited for, its pid is still its own).
	wait_until 20 eval '[ "$(wc -l <"$log")" -ge 5 ]' || true
	kill "$fake" 2>/dev/null || true
	wait "$fake" || true
	run sed -n 1,5p "$log"
	assert_output - <<-'EOF'
	SET_CLIENT_ID wire-test
	CAN_DO f1
	GRAB_JOB_UNIQ
	GRAB_JOB_UNIQ
	GRAB_JOB_UNIQ
	EOF
}

@test "wire: without -t the functions are registered with CAN_DO" {
	fake_start
	NOWAIT=1 work_start w --id wire-test -h "$fake_addr" \
	    -f f1 -- cat
	wait "$fake"
	run cat "$log"
	assert_output "SET_CLIENT_ID wire-test
CAN_DO f1
$WIRE_TAIL"
}

@test "a server that goes away mid-job: the job finishes, its result is dropped with one line, work goes on after the restart" {
	go=$BATS_TEST_TMPDIR/go
	work_start w -f mid -- sh -c \
	    'touch "$0.started"; while [ ! -e "$0" ]; do sleep 0.02; done;
	    echo finished' "$go"
	submit_bg mid x >/dev/null
	wait_until 20 test -e "$go.started"
	server_stop s1
	# Held while it is down, so that it comes back on the same port.
	port_hold "$PORT"
	wait_until 20 grep -q "lost connection" "$(work_err w)"
	touch "$go"
	wait_until 20 grep -q "result dropped" "$(work_err w)"
	run grep "result dropped" "$(work_err w)"
	assert_output --regexp \
	    "^gm-work: job H:[^ ]+ \(mid\): done; the connection to 127\.0\.0\.1:$PORT was lost, result dropped$"
	server_start s1
	wait_until 30 workers_for mid "$PORT" -gt 0
	run gm_client -f mid y
	assert_output "finished"
}

@test "--probe 1: ECHO_REQ while asleep after PRE_SLEEP and while a job runs; the server answers, NOOP still wakes the worker, nothing is lost" {
	local gate=$BATS_TEST_TMPDIR/gate pid b
	work_start w --probe 1 -f slow -- sh -c \
	    "touch '$BATS_TEST_TMPDIR/started'; until [ -e '$gate' ];
	    do sleep 0.05; done; cat"
	pid=$WPID_w
	# Asleep: NO_JOB (12 bytes) then two ECHO_RES "probe" (17 each).
	wait_until 20 eval '[ "$(tcp_in "$pid" "$PORT")" -ge 46 ]'
	gm_client -f slow hello >"$BATS_TEST_TMPDIR/out" &
	wait_until 20 test -e "$BATS_TEST_TMPDIR/started"
	# Two more answers while the job runs.
	b=$(tcp_in "$pid" "$PORT")
	wait_until 20 eval '[ "$(tcp_in "$pid" "$PORT")" -ge $((b + 34)) ]'
	touch "$gate"
	wait_until 20 test -s "$BATS_TEST_TMPDIR/out"
	run cat "$BATS_TEST_TMPDIR/out"
	assert_output hello
	run cat "$(work_err w)"
	assert_output ""
}

@test "--probe 1: a server that takes packets and never answers is left once its ECHO_REQ goes unanswered" {
	gm_only "a fake server: the target is not involved"
	fake_start silent
	NOWAIT=1 work_start w --id wire-test --probe 1 -h "$fake_addr" -f f1 \
	    -- cat
	wait "$fake"
	run cat "$log"
	assert_output - <<-'EOF'
	SET_CLIENT_ID wire-test
	CAN_DO f1
	GRAB_JOB_UNIQ
	ECHO_REQ probe
	EOF
	wait_until 20 test -s "$(work_err w)"
	run sed -n 1p "$(work_err w)"
	assert_output "gm-work: lost connection to $fake_addr (no answer to ECHO_REQ within 1 s), reconnecting"
}

@test "-S: a server that takes the connection and never answers the TLS handshake is left after 3 s" {
	gm_only "a fake server: the target is not involved"
	fake_start silent
	NOWAIT=1 work_start w -S -h "$fake_addr" -f f1 -- cat
	wait_until 20 test -s "$(work_err w)" || { kill "$fake"; false; }
	# It hung up, so the fake server ends.
	wait "$fake"
	run sed -n 1p "$(work_err w)"
	assert_output "gm-work: lost connection to $fake_addr (TLS handshake timed out), reconnecting"
}
