#!/usr/bin/env bash
# The oversize attack: N connections (default 6) each send SIZE bytes
# (default 200 MB) of one SUBMIT_JOB packet whose function name never ends,
# all at once, against a gm-server started here.  Prints the server's peak
# resident set (VmHWM) and its resident set once the connections are gone,
# in kB.  Kills only the server it started.
#
# tests/bench/oversize.sh [GM-SERVER [SERVER ARGS...]]
# OVERSIZE_CONNS=N  OVERSIZE_MB=M
set -u
cd "$(dirname "$0")/../.."
server=${1:-build/bin/gm-server}
[ $# -gt 0 ] && shift
conns=${OVERSIZE_CONNS:-6}
mb=${OVERSIZE_MB:-200}
. tests/bench/server.bash
bench_server "$server" "$@"
kb() { awk -v k="$1" '$1 == k ":" { print $2 }' "/proc/$pid/status"; }
base=$(kb VmRSS)
fds=$(ls "/proc/$pid/fd" | wc -l)
# Each sender writes the header, then the name in 1 MB pieces until the
# server closes the connection or everything is sent.
perl -MIO::Socket::INET -e '
	my ($port, $conns, $mb) = @ARGV;
	my @kids;
	for (1 .. $conns) {
		my $pid = fork() // die "fork: $!\n";
		if ($pid == 0) {
			$SIG{PIPE} = "IGNORE";
			my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1",
			    PeerPort => $port) or die "connect: $!\n";
			my $size = $mb * 1024 * 1024 + 16;
			syswrite($s, "\0REQ" . pack("NN", 7, $size)) or exit 0;
			my $chunk = "f" x (1024 * 1024);
			for (1 .. $mb) {
				my $off = 0;
				while ($off < length $chunk) {
					my $n = syswrite($s, $chunk, length($chunk) - $off,
					    $off);
					exit 0 unless defined $n && $n > 0;
					$off += $n;
				}
			}
			exit 0;
		}
		push @kids, $pid;
	}
	waitpid($_, 0) for @kids;' "$port" "$conns" "$mb"
peak=$(kb VmHWM)
# The senders are gone: let the server notice, then read its resident set.
for _ in $(seq 100); do
	[ "$(ls "/proc/$pid/fd" | wc -l)" -le "$fds" ] && break
	sleep 0.05
done
after=$(kb VmRSS)
echo "connections=$conns size=${mb}MB rss_start_kB=$base peak_kB=$peak rss_after_kB=$after"
