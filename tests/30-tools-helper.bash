# Shared by the gm-submit and gm-admin suites (tests/3x-*.bats): a small
# raw-protocol perl worker with scripted behaviour, and status helpers.
# Load after helper: `load helper; load 30-tools-helper`.
# test_worker PORT MODE FUNC...: start a small raw-protocol perl worker for
# the tool tests (owner: gm-submit/gm-admin), registered for FUNCs, and
# wait until the server lists it.  Its pid is in WORKER_PID and is killed
# by kill_started.  MODE: echo (result = payload), upper, fancy (STATUS
# 1/4, DATA d1, WARNING w1, STATUS 3/4, COMPLETE done), exc (WORK_EXCEPTION
# boom), fail (DATA "partial\n", WORK_FAIL), zero (STATUS 1/0, COMPLETE ok),
# hold (takes jobs, never answers), stream (DATA "first\n", then holds the
# job), gateN (holds N jobs, then completes
# them last-taken first).
test_worker() {
	local port=$1 mode=$2 f
	shift 2
	perl -e '
	use strict; use IO::Socket::INET; use Socket qw(IPPROTO_TCP TCP_NODELAY);
	my ($port, $mode, @funcs) = @ARGV;
	my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1",
	    PeerPort => $port) or die "connect: $!\n";
	binmode $s;
	setsockopt($s, IPPROTO_TCP, TCP_NODELAY, 1);
	sub out { my ($t, $b) = @_; $b = "" unless defined $b;
	    my $p = "\0REQ" . pack("NN", $t, length $b) . $b;
	    while (length $p) { my $n = syswrite($s, $p);
	        die "write: $!\n" unless defined $n; substr($p, 0, $n, ""); } }
	sub full { my $n = shift; my $b = "";
	    while (length($b) < $n) { my $r = sysread($s, $b, $n - length $b,
	        length $b); exit 0 unless $r; } $b }
	sub pin { my ($m, $t, $n) = unpack("a4NN", full(12));
	    return ($t, $n ? full($n) : ""); }
	out(1, $_) for @funcs;
	my @held; my $gate = $mode =~ /^gate(\d+)$/ ? $1 : 0;
	while (1) {
	    out(9);
	    my ($t, $b);
	    do { ($t, $b) = pin() } while $t == 6;
	    if ($t == 10) { out(4); do { ($t, $b) = pin() } until $t == 6;
	        next; }
	    next unless $t == 11;
	    my ($h, $f, $d) = split /\0/, $b, 3;
	    $d = "" unless defined $d;
	    if ($mode eq "echo") { out(13, "$h\0$d") }
	    elsif ($mode eq "upper") { out(13, "$h\0" . uc $d) }
	    elsif ($mode eq "fancy") { out(12, "$h\0" . "1\0" . "4");
	        out(28, "$h\0d1"); out(29, "$h\0w1"); out(12, "$h\0" . "3\0" . "4");
	        out(13, "$h\0done") }
	    elsif ($mode eq "exc") { out(25, "$h\0boom") }
	    elsif ($mode eq "fail") { out(28, "$h\0partial\n"); out(14, $h) }
	    elsif ($mode eq "stream") { out(28, "$h\0first\n") }
	    elsif ($mode eq "zero") { out(12, "$h\0" . "1\0" . "0");
	        out(13, "$h\0ok") }
	    elsif ($gate) { push @held, [$h, $d];
	        if (@held == $gate) { out(13, "$_->[0]\0$_->[1]")
	            for reverse @held; @held = (); } }
	}' "$port" "$mode" "$@" 3>&- </dev/null &
	WORKER_PID=$!
	echo "$WORKER_PID" >>"$BATS_FILE_TMPDIR/pids"
	for f in "$@"; do
		wait_until 10 has_worker "$port" "$f" || return 1
	done
}

# has_worker PORT FUNC: the server lists at least one worker for FUNC.
has_worker() {
	admin "$1" status | awk -F '\t' -v f="$2" '$1 == f && $4 > 0 { ok = 1 }
	    END { exit !ok }'
}

# status_total PORT FUNC: the TOTAL column of FUNC in `status` (or 0).
status_total() {
	admin "$1" status | awk -F '\t' -v f="$2" '$1 == f { t = $2 }
	    END { print t + 0 }'
}
