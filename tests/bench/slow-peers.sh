#!/usr/bin/env bash
# Slow and greedy peers against a gm-server started here (kills only it):
#  - slowloris: N connections (default 1000) each send one byte a second
#    of a packet that never completes; prints how many the server closed
#    within --request-timeout plus 5 s, and its log lines about them;
#  - greedy worker: 10,000 background jobs; one worker grabs until it gets
#    NO_JOB and never answers; prints how many it got and how many a
#    second worker, which completes each job it takes, then gets.
#
# tests/bench/slow-peers.sh [GM-SERVER [SERVER ARGS...]]
# SLOW_CONNS=N  SLOW_TIMEOUT=S (passed as --request-timeout, default 10)
set -u
cd "$(dirname "$0")/../.."
server=${1:-build/bin/gm-server}
[ $# -gt 0 ] && shift
conns=${SLOW_CONNS:-1000}
timeout=${SLOW_TIMEOUT:-10}
ulimit -n 4096 2>/dev/null
. tests/bench/server.bash
bench_server "$server" --request-timeout "$timeout" "$@"

perl -MIO::Socket::INET -MIO::Select -e '
	my ($port, $n, $timeout) = @ARGV;
	$SIG{PIPE} = "IGNORE";
	my $pkt = "\0REQ" . pack("NN", 7, 1000) . "f" x 1000;
	my @s;
	for (1 .. $n) {
		my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1",
		    PeerPort => $port) or die "connect: $!\n";
		$s->blocking(0);
		push @s, [$s, 0];
	}
	my $start = time;
	my $closed = 0;
	while (time - $start < $timeout + 5 && $closed < $n) {
		for my $c (@s) {
			next if !defined $c->[0];
			my $r = sysread($c->[0], my $b, 1);
			if (defined $r && $r == 0) {
				$c->[0] = undef;
				$closed++;
				next;
			}
			syswrite($c->[0], substr($pkt, $c->[1]++, 1));
		}
		sleep 1;
	}
	printf "slowloris: %d connections, %d closed by the server " .
	    "within %d s (--request-timeout %d)\n", $n, $closed,
	    time - $start, $timeout;' "$port" "$conns" "$timeout"
# The summary of the rate-limited lines comes once their window is over.
for _ in $(seq 150); do
	grep -q 'more like this.*request not complete' "$work/log" && break
	sleep 0.1
done
echo "log lines about them: $(grep -c 'request not complete' "$work/log")" \
    "(of which summaries: $(grep -c 'more like this.*request not complete' "$work/log"))"

perl -MIO::Socket::INET -e '
	my ($port) = @ARGV;
	sub pkt { my ($t, @a) = @_; my $b = join("\0", @a);
		"\0REQ" . pack("NN", $t, length $b) . $b }
	my $body;
	sub reply { my $s = shift; read($s, my $h, 12) == 12 or die "eof\n";
		my ($t, $l) = unpack("x4NN", $h); $body = "";
		read($s, $body, $l) if $l; return $t }
	my $c = IO::Socket::INET->new(PeerAddr => "127.0.0.1",
	    PeerPort => $port) or die;
	print $c pkt(18, "greedy", "", "x") for 1 .. 10000;
	reply($c) for 1 .. 10000;
	my ($w1, $w2) = map { IO::Socket::INET->new(PeerAddr => "127.0.0.1",
	    PeerPort => $port) or die } 1 .. 2;
	my ($got1, $got2) = (0, 0);
	print $w1 pkt(1, "greedy");
	while (1) { print $w1 pkt(9); last if reply($w1) == 10; $got1++ }
	print $w2 pkt(1, "greedy");
	# The result and the next grab in one write (no Nagle wait).
	my $done = "";
	for (1 .. 10000) { print $w2 $done . pkt(9); $done = "";
		last if reply($w2) == 10;
		my ($h) = split /\0/, $body; $done = pkt(13, $h, "ok");
		$got2++ }
	print "greedy worker: holds $got1 jobs and gets NO_JOB; " .
	    "a second worker then gets and completes $got2 of the " .
	    "remaining " .
	    (10000 - $got1) . "\n";' "$port"
echo "log lines about the greedy worker: $(grep -c 'max-held' "$work/log")"
printf 'counters: '; printf 'counters\n' | timeout 5 nc -N 127.0.0.1 "$port" |
    tr '\t\n' '= ' ; echo
