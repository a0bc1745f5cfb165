# Functions for the gm-work suites (tests/40-*.bats .. 49-*.bats).
# Needs helper.bash loaded first.  Loading it gives every test a fresh
# server (setup) and stops what the test started (teardown); a suite that
# needs more defines its own setup and calls work_setup.

# work_setup: a fresh server per test, and the raw Perl client.
work_setup() {
	server_start s1
	WORK_PIDS=()
}

# work_teardown: stop the workers this test started, then the servers.
work_teardown() {
	local name
	for name in ${WORK_NAMES:-}; do
		work_kill "$name"
	done
	kill_started
}

setup() {
	work_setup
}

teardown() {
	work_teardown
}

# work_start NAME ARGS...: start gm-work ARGS in the background, stderr to
# a file, and wait until the server lists its first -f function (unless
# NOWAIT=1; WPORT names the server to ask, default $PORT).
work_start() {
	local name=$1
	shift
	"$GM_BIN/gm-work" "$@" 2>"$BATS_TEST_TMPDIR/$name.err" \
	    >"$BATS_TEST_TMPDIR/$name.out" 3>&- </dev/null &
	work_started "$name" $! "$@"
}

# gearman_w NAME ARGS...: start the real `gearman -w` the same way, in its
# own process group (after a failed exec it leaves a second copy running).
gearman_w() {
	local name=$1
	shift
	# GEARMAN_SERVER, since gearman lets it override -h and -p.
	setsid env GEARMAN_SERVER="127.0.0.1:${WPORT:-$PORT}" gearman -w "$@" \
	    2>"$BATS_TEST_TMPDIR/$name.err" \
	    >"$BATS_TEST_TMPDIR/$name.out" 3>&- </dev/null &
	printf -v "WGROUP_$name" %s $!
	work_started "$name" $! "$@"
}

# Record a started worker and wait for its registration.
work_started() {
	local name=$1 pid=$2 fn="" prev=""
	shift 2
	printf -v "WPID_$name" %s "$pid"
	printf -v "WFN_$name" %s ""
	WORK_NAMES="${WORK_NAMES:-} $name"
	for a in "$@"; do
		[ "$prev" = -f ] && { fn=$a; break; }
		[ "$a" = -- ] && break
		prev=$a
	done
	printf -v "WFN_$name" %s "$fn"
	[ "${NOWAIT:-0}" = 1 ] || [ -z "$fn" ] && return 0
	wait_until 20 workers_for "$fn" "${WPORT:-$PORT}" -gt 0 || {
		echo "worker $name did not register $fn; its stderr:" >&2
		cat "$BATS_TEST_TMPDIR/$name.err" >&2
		return 1
	}
}

# workers_for FN PORT TEST N: compare the server's worker count of FN.
workers_for() {
	local n
	n=$(admin "$2" status | awk -F'\t' -v f="$1" '$1 == f { print $4 }')
	[ "${n:-0}" "$3" "$4" ]
}

work_pid() { local v="WPID_$1"; echo "${!v}"; }
work_err() { echo "$BATS_TEST_TMPDIR/$1.err"; }

# work_wait NAME: wait (30 s) for a worker to exit; status in WORK_STATUS.
work_wait() {
	local pid
	pid=$(work_pid "$1")
	wait_until 30 eval "! pid_alive $pid" || return 1
	WORK_STATUS=0
	wait "$pid" || WORK_STATUS=$?
}

# term_running NAME FILE: once the job's command has made FILE, SIGTERM
# worker NAME and wait until it says it is finishing that one job.
term_running() {
	wait_until 20 test -e "$2" || return 1
	kill -TERM "$(work_pid "$1")"
	wait_until 20 grep -qx \
	    "gm-work: SIGTERM: finishing 1 running job, then exiting" \
	    "$(work_err "$1")"
}

# work_stop NAME: SIGTERM a worker, wait for it, and wait until the server
# has noticed (its first function shows no worker).
work_stop() {
	local pid g="WGROUP_$1" f="WFN_$1"
	pid=$(work_pid "$1")
	if [ -n "${!g:-}" ]; then
		kill -TERM -- "-${!g}" 2>/dev/null
	else
		kill -TERM "$pid" 2>/dev/null
	fi
	work_wait "$1"
	[ -z "${!f:-}" ] || wait_until 10 workers_for "${!f}" "$PORT" -eq 0
}

# work_kill NAME: make sure a worker (and for gearman -w its group) is gone.
work_kill() {
	local pid g="WGROUP_$1"
	pid=$(work_pid "$1")
	[ -n "$pid" ] || return 0
	if [ -n "${!g:-}" ]; then
		kill -KILL -- "-${!g}" 2>/dev/null
	elif pid_alive "$pid"; then
		kill -INT "$pid" 2>/dev/null
		wait_until 10 eval "! pid_alive $pid" || kill -KILL "$pid"
	fi
	wait "$pid" 2>/dev/null || true
}

# gm_client ARGS...: the gearman CLI as a client (GEARMAN_SERVER is set).
gm_client() {
	timeout 60 gearman "$@"
}

# submit_bg FN DATA: submit a background job, print its handle.
submit_bg() {
	timeout 20 gearman -b -v -f "$1" "$2" | sed 's/^Task created: //'
}

# pkts [-x] [-l] FN: submit stdin as a foreground job to FN on $PORT with a
# raw client and print every packet that comes back, one a line: the type
# and the arguments after the handle, bytes outside printable ASCII as
# \xNN (-l: their length instead).  -x asks for exceptions first.  Ends at
# WORK_COMPLETE, WORK_FAIL or WORK_EXCEPTION.
pkts() {
	local opts=""
	while [ $# -gt 1 ]; do opts="$opts$1"; shift; done
	timeout 60 perl -e '
	use strict; use IO::Socket::INET;
	my ($port, $fn, $opts) = @ARGV;
	my $data = do { local $/; binmode STDIN; <STDIN> } // "";
	my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1",
	    PeerPort => $port) or die "connect: $!\n";
	binmode $s;
	sub pkt { my ($t, $b) = @_;
		print $s "\0REQ" . pack("NN", $t, length $b) . $b; }
	sub rd { my $n = shift; my $b = "";
		while (length $b < $n) {
			my $r = sysread($s, $b, $n - length $b, length $b);
			die "connection closed\n" unless $r;
		}
		return $b; }
	my %name = (12 => "WORK_STATUS", 13 => "WORK_COMPLETE",
	    14 => "WORK_FAIL", 19 => "ERROR", 25 => "WORK_EXCEPTION",
	    28 => "WORK_DATA", 29 => "WORK_WARNING");
	$s->autoflush(1);
	pkt(26, "exceptions") if $opts =~ /x/;
	pkt(7, "$fn\0\0$data");
	$| = 1;
	while (1) {
		my ($m, $t, $l) = unpack("a4NN", rd(12));
		my $body = $l ? rd($l) : "";
		next if $t == 8 || $t == 27;
		my ($h, $rest) = split /\0/, $body, 2;
		$rest = join(" ", split /\0/, $rest) if $t == 12;
		my $line = $name{$t} // "TYPE$t";
		if (defined $rest) {
			if ($opts =~ /l/) {
				$line .= " " . length $rest;
			} else {
				$rest =~ s/([^\x20-\x7e]|\\)/sprintf("\\x%02x", ord $1)/ge;
				$line .= " $rest";
			}
		}
		print "$line\n";
		last if $t == 13 || $t == 14 || $t == 25;
	}' "$PORT" "$1" "$opts"
}

# job_status HANDLE [PORT]: GET_STATUS, printed as "known running num den".
job_status() {
	perl -e '
	use strict; use IO::Socket::INET;
	my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1",
	    PeerPort => $ARGV[1]) or die "connect: $!\n";
	binmode $s;
	print $s "\0REQ" . pack("NN", 15, length $ARGV[0]) . $ARGV[0];
	my $b = "";
	sysread($s, $b, 65536, length $b) or die "closed\n"
	    while length $b < 12 || length $b < 12 + unpack("x8N", $b);
	my @a = split /\0/, substr($b, 12);
	print join(" ", @a[1..4]), "\n";' "$1" "${2:-$PORT}"
}

# rawjob FN [PORT]: submit stdin as a foreground job with a raw client and
# write the result bytes (WORK_DATA and WORK_COMPLETE) to stdout; exit 0
# on WORK_COMPLETE, 1 on WORK_FAIL or WORK_EXCEPTION, 124 when no result
# came within RAWJOB_TIMEOUT seconds (default 120).
rawjob() {
	timeout "${RAWJOB_TIMEOUT:-120}" perl -e '
	use strict; use IO::Socket::INET;
	my ($port, $fn) = @ARGV;
	binmode STDIN; binmode STDOUT;
	my $data = do { local $/; <STDIN> } // "";
	my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1",
	    PeerPort => $port) or die "connect: $!\n";
	binmode $s;
	my $out = "\0REQ" . pack("NN", 7, length($fn) + 2 + length $data) .
	    "$fn\0\0" . $data;
	undef $data;
	my $off = 0;
	while ($off < length $out) {
		my $w = syswrite($s, $out, 1 << 20, $off);
		die "write: $!\n" unless defined $w;
		$off += $w;
	}
	undef $out;
	sub rd { my $n = shift; my $b = "";
		while (length $b < $n) {
			my $r = sysread($s, $b, $n - length $b, length $b);
			die "connection closed\n" unless $r;
		}
		return $b; }
	while (1) {
		my ($m, $t, $l) = unpack("a4NN", rd(12));
		my $body = $l ? rd($l) : "";
		next if $t == 8;
		my ($h, $rest) = split /\0/, $body, 2;
		print $rest if ($t == 13 || $t == 28) && defined $rest;
		exit 0 if $t == 13;
		exit 1 if $t == 14 || $t == 25;
	}' "${2:-$PORT}" "$1"
}

# fg_many FN N PREFIX: submit N foreground jobs "jobI" to FN on $PORT over
# one connection, 32 at a time, and check that each result is PREFIX
# followed by its own payload; prints "ok=X bad=Y".
fg_many() {
	timeout 300 perl -e '
	use strict; use IO::Socket::INET;
	my ($port, $fn, $n, $pfx) = @ARGV;
	my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1",
	    PeerPort => $port) or die "connect: $!\n";
	binmode $s; $s->autoflush(1);
	my ($sent, $done, $ok, $bad, $buf) = (0, 0, 0, 0, "");
	my (@created, %want);
	sub submit { my $d = "job" . $sent++; push @created, $d;
		print $s "\0REQ" . pack("NN", 7, length($fn) + 2 + length $d) .
		    "$fn\0\0$d"; }
	submit() while $sent < $n && $sent < 32;
	while ($done < $n) {
		my $r = sysread($s, $buf, 65536, length $buf);
		die "connection closed\n" unless $r;
		while (length $buf >= 12) {
			my ($m, $t, $l) = unpack("a4NN", $buf);
			last if length $buf < 12 + $l;
			my $body = substr($buf, 12, $l);
			substr($buf, 0, 12 + $l) = "";
			if ($t == 8) {
				$want{$body} = shift @created;
			} elsif ($t == 13 || $t == 14 || $t == 25) {
				my ($h, $res) = split /\0/, $body, 2;
				if ($t == 13 && defined $want{$h} &&
				    $res eq $pfx . $want{$h}) { $ok++ }
				else { $bad++ }
				delete $want{$h};
				$done++;
				submit() if $sent < $n;
			}
		}
	}
	print "ok=$ok bad=$bad\n";' "$PORT" "$1" "$2" "$3"
}
