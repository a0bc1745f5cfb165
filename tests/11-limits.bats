#!/usr/bin/env bats
# Limits on what one peer can make the server hold: arguments checked as
# they arrive, the input budget across connections (--max-input), the
# deadline on a partial request (--request-timeout), the jobs one worker
# may hold (--max-held), and rate-limited log lines.  Each is a gm-server
# limit; where gearmand differs the test shows what it does instead.

load helper

teardown() {
	spawn_kill
	kill_started
}

# counter NAME: a line of admin `counters` (gm-server).
counter() {
	admin counters | awk -F '\t' -v k="$1" '$1 == k { print $2 }'
}

# The server still answers an ECHO on a new connection.
alive() {
	[ "$(raw <<<$'REQ ECHO_REQ alive\nWAIT 1')" = 'ECHO_RES alive' ]
}

@test "a function name that does not end within 8192 bytes closes at once" {
	server_start s
	# The header announces 100 MB; only 9000 bytes of name follow.
	run raw -t 10000 <<'EOF'
RAW \0REQ\0\0\0\x07\x06\0\0\0f\{9000}
CLOSED
EOF
	assert_success
	assert_output 'CLOSED'
	alive
	if is_gm; then
		[ "$(counter args_refused)" = 1 ]
	fi
}

@test "a unique id over 64 bytes is refused before the payload arrives" {
	server_start s
	local u body
	u=$(printf 'u%.0s' {1..70})
	# A 64 KB SUBMIT_JOB: the reply comes after its first bytes on gm,
	# after the whole packet on gearmand; the rest is then read (and
	# dropped) and the connection goes on.
	body=$((65536 - 3 - 71))
	if is_gm; then
		run raw <<EOF
RAW \0REQ\0\0\0\x07\0\x01\0\0fn\0$u\0d
WAIT 1
RAW d\{$((body - 1))}
REQ ECHO_REQ next
WAIT 1
EOF
	else
		run raw <<EOF
RAW \0REQ\0\0\0\x07\0\x01\0\0fn\0$u\0d\{$body}
WAIT 1
REQ ECHO_REQ next
WAIT 1
EOF
	fi
	assert_success
	assert_output 'ERROR ARGUMENT_TOO_LARGE "Unique value too large"
ECHO_RES next'
}

@test "a request without arguments is answered before its body arrives" {
	gm_only "gearmand waits for the whole body before it answers"
	server_start s
	# GRAB_JOB with a body of 1 MB: NO_JOB after the first bytes.
	run raw <<'EOF'
RAW \0REQ\0\0\0\x09\0\x10\0\0xyz
WAIT 1
RAW x\{1048573}
REQ ECHO_REQ next
WAIT 1
EOF
	assert_success
	assert_output 'NO_JOB
ECHO_RES next'
}

@test "slowloris: partial requests are closed after --request-timeout, idle ones stay" {
	gm_only "gearmand has no deadline on a partial request: it keeps them"
	server_start s --request-timeout 1
	run raw -t 20000 <<'EOF'
@9 SYNC
RAW \0RE
@2 RAW \0REQ\0\0\0\x10\0\0\0\x05ab
@3 RAW stat
@4 RAW \0REQ\0\0\0\x07\0\0\0\x10fn\0uniq
CLOSED
@2 CLOSED
@3 CLOSED
@4 CLOSED
@9 REQ ECHO_REQ idle
@9 WAIT 1
EOF
	assert_success
	assert_output 'CLOSED
@2 CLOSED
@3 CLOSED
@4 CLOSED
@9 ECHO_RES idle'
	[ "$(counter request_timeouts)" = 4 ]
	[ "$(grep -c 'request not complete within 1 s' "$LOG_s")" = 4 ]
}

@test "a greedy worker holds at most --max-held jobs; others are served" {
	local script first
	first='JOB_CREATED H:HOST:1
JOB_CREATED H:HOST:2
JOB_CREATED H:HOST:3
@2 JOB_ASSIGN H:HOST:1 greedy j1
@2 JOB_ASSIGN H:HOST:2 greedy j2'
	script='REQ SUBMIT_JOB_BG greedy "" j1
REQ SUBMIT_JOB_BG greedy "" j2
REQ SUBMIT_JOB_BG greedy "" j3
WAIT 3
@2 REQ CAN_DO greedy
@2 REQ GRAB_JOB
@2 WAIT 1
@2 REQ GRAB_JOB
@2 WAIT 1
@2 REQ GRAB_JOB
@2 WAIT 1
@3 REQ CAN_DO greedy
@3 REQ GRAB_JOB
@3 WAIT 1'
	if is_gearmand; then
		# gearmand gives the greedy worker all three.
		server_start s
		run raw <<<"$script"
		assert_success
		assert_output "$first"'
@2 JOB_ASSIGN H:HOST:3 greedy j3
@3 NO_JOB'
		return
	fi
	# On gm the third grab is refused (NO_JOB) and the job goes to worker
	# 3.  Worker 2 then sleeps at its cap: a new job wakes worker 3, not
	# it; when worker 2 finishes one, it is woken for the jobs queued.
	server_start s --max-held 2
	run raw <<EOF
$script
@3 REQ PRE_SLEEP
@2 REQ PRE_SLEEP
@3 SYNC
@2 SYNC
REQ SUBMIT_JOB_BG greedy "" j4
WAIT 1
@3 WAIT 1
@2 SYNC
@3 REQ SUBMIT_JOB_BG greedy "" j5
@3 WAIT 1
@2 REQ WORK_COMPLETE H:HOST:1 done
@2 WAIT 1
@2 REQ GRAB_JOB
@2 WAIT 1
EOF
	assert_success
	assert_output "$first"'
@2 NO_JOB
@3 JOB_ASSIGN H:HOST:3 greedy j3
JOB_CREATED H:HOST:4
@3 NOOP
@3 JOB_CREATED H:HOST:5
@2 NOOP
@2 JOB_ASSIGN H:HOST:4 greedy j4'
	# Refused grabs are counted; the cap is logged once per worker.
	[ "$(counter held_capped)" = 1 ]
	[ "$(grep -c 'the --max-held limit' "$LOG_s")" = 1 ]
}

@test "input over --max-input pauses all but one large partial packet; all complete" {
	gm_only "gearmand has no budget on input: it reads every packet whole"
	server_start s --max-input 1M
	# Two clients each send 4 MB of an 8 MB SUBMIT_JOB_BG, wait until the
	# budget paused one of them, then send the rest; both jobs are made.
	run timeout 120 perl -MIO::Socket::INET -e '
	    my ($port) = @ARGV;
	    $| = 1;
	    sub paused {
		my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1",
		    PeerPort => $port) or die "admin: $!\n";
		print $s "counters\n";
		while (<$s>) { return $1 if /^input_paused\t(\d+)/ }
		return 0;
	    }
	    my $size = 8 * 1024 * 1024;
	    my $head = "fn\0\0";
	    my $data = "d" x ($size - length $head);
	    my $pkt = "\0REQ" . pack("NN", 18, $size) . $head . $data;
	    my $half = 12 + 4 * 1024 * 1024;
	    my (@kids, @go);
	    for my $n (1, 2) {
		pipe(my $r, my $w) or die;
		my $pid = fork() // die;
		if ($pid == 0) {
		    close $w;
		    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1",
			PeerPort => $port) or die "connect: $!\n";
		    print $s substr($pkt, 0, $half);
		    $s->flush;
		    <$r>;
		    print $s substr($pkt, $half);
		    $s->flush;
		    my $hdr;
		    read($s, $hdr, 12) == 12 or die "no reply\n";
		    my ($type, $len) = unpack("x4NN", $hdr);
		    read($s, my $body, $len);
		    print "$n type $type\n";
		    exit 0;
		}
		close $r;
		push @kids, $pid;
		push @go, $w;
	    }
	    my $until = time + 60;
	    select(undef, undef, undef, 0.05)
		until paused() > 0 || time > $until;
	    print "paused\n" if paused() > 0;
	    print $_ "go\n" for @go;
	    close $_ for @go;
	    waitpid($_, 0) for @kids;' "$PORT"
	assert_success
	# JOB_CREATED is type 8.
	assert_output --regexp '^paused
[12] type 8
[12] type 8$'
	[ "$(grep -c 'over the 1048576 byte budget' "$LOG_s")" = 1 ]
	[ "$(admin status | awk -F '\t' '$1 == "fn" { print $2 }')" = 2 ]
}

@test "log lines of one cause are rate-limited, with a count of the rest" {
	server_start s
	local i script=
	# 30 connections that each send a bad magic: the server closes each
	# and logs why.
	for i in $(seq 2 16); do
		script+="@$i RAW \\0XYZ\\0\\0\\0\\x10\\0\\0\\0\\0"$'\n'"@$i CLOSED"$'\n'
	done
	local t0=$SECONDS
	raw <<<"$script" >/dev/null
	raw <<<"$script" >/dev/null
	local took=$((SECONDS - t0))
	alive
	if is_gearmand; then
		# gearmand logs nothing of these at INFO.
		return
	fi
	# Per 10 s window at most 10 lines; the rest of a window is counted
	# in one summary once it is over.  On a loaded machine the 30 may
	# fall in more than one window: the lines shown and the counts of the
	# summaries add up to 30 however they split, and the lines shown are
	# at most 10 per window the sending spanned (windows start 10 s
	# apart at least; +1: $SECONDS and the server's clock tick apart).
	wait_until 30 eval '[ "$(rate_total)" = 30 ]'
	local shown windows
	shown=$(grep -v ' more like this in ' "$LOG_s" |
	    grep -c 'closing connection: bad magic$')
	windows=$(((took + 1) / 10 + 1))
	[ "$shown" -le $((10 * windows)) ]
	# Sent within one window, as on an idle machine: 10 lines, and one
	# summary of the other 20.
	if [ "$windows" = 1 ]; then
		[ "$shown" = 10 ]
		run grep -c ' 20 more like this in .*bad magic$' "$LOG_s"
		assert_output 1
	fi
}

# rate_total: the bad-magic lines of the server's log plus the counts of
# their summaries.
rate_total() {
	awk '/more like this in .*: fd [0-9]* \(.*\): closing connection: bad magic$/ {
		for (i = 1; i < NF; i++)
			if ($(i + 1) == "more") { n += $i; break }
		next
	    }
	    /closing connection: bad magic$/ { n++ }
	    END { print n + 0 }' "$LOG_s"
}
