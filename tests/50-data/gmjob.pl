#!/usr/bin/perl
# Raw Gearman client and worker for the journal suites (tests/50-*.bats).
#
# gmjob.pl submit PORT ACKED PREFIX COUNT [WINDOW]
#	Pipeline COUNT SUBMIT_JOB_BG packets for function "jfn" (unique
#	PREFIX-N, data data-PREFIX-N), at most WINDOW (64) unanswered.  Each
#	unique whose JOB_CREATED arrived is appended to ACKED at once.  Ends
#	quietly when the server goes away.
# gmjob.pl jobs PORT < SPEC
#	Submit one job per line "KIND FUNC UNIQUE DATA" (KIND: bg, high, low,
#	epoch:TIME; DATA may use \xHH escapes; "-" is an empty field) and wait
#	for each JOB_CREATED; print the handles.
# gmjob.pl work PORT FUNCS OUT [ROUND] [drain]
#	A worker for the comma-separated FUNCS: for every job append
#	"ROUND FUNC UNIQUE HEXDATA" to OUT, then send WORK_COMPLETE.  With
#	drain it exits at the first NO_JOB, else it sleeps (PRE_SLEEP) and
#	exits when the server goes away.
# gmjob.pl drop PORT FUNC
#	Grab one job of FUNC, print its unique and disconnect without an
#	answer, so the server requeues it (one attempt used).
use strict;
use warnings;
use IO::Socket::INET;
use IO::Handle;
use Socket qw(IPPROTO_TCP TCP_NODELAY);

my %T = (CAN_DO => 1, PRE_SLEEP => 4, NOOP => 6, JOB_CREATED => 8,
    NO_JOB => 10, WORK_COMPLETE => 13, SUBMIT_JOB_BG => 18, ERROR => 19,
    GRAB_JOB_UNIQ => 30, JOB_ASSIGN_UNIQ => 31, SUBMIT_JOB_HIGH_BG => 32,
    SUBMIT_JOB_LOW_BG => 34, SUBMIT_JOB_EPOCH => 36);

sub pkt {
	my ($t, @a) = @_;
	my $b = join("\0", @a);
	return "\0REQ" . pack("NN", $t, length $b) . $b;
}

sub readn {
	my ($s, $n) = @_;
	my $buf = "";
	while (length $buf < $n) {
		my $r = sysread($s, $buf, $n - length $buf, length $buf);
		return undef unless $r;
	}
	return $buf;
}

# Read one reply: (type, body), or () when the connection is gone.
sub readpkt {
	my $s = shift;
	my $h = readn($s, 12);
	return () unless defined $h;
	my (undef, $t, $l) = unpack("a4NN", $h);
	my $b = $l ? readn($s, $l) : "";
	return () unless defined $b;
	return ($t, $b);
}

sub sendall {
	my ($s, $data) = @_;
	while (length $data) {
		my $w = syswrite($s, $data);
		return 0 unless $w;
		substr($data, 0, $w) = "";
	}
	return 1;
}

sub connect_to {
	my $port = shift;
	my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1",
	    PeerPort => $port, Proto => "tcp") or die "connect $port: $!\n";
	$s->setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
	return $s;
}

sub unescape {
	my $v = shift;
	return "" if $v eq "-";
	$v =~ s/\\x([0-9a-fA-F]{2})/chr(hex($1))/ge;
	return $v;
}

my $cmd = shift @ARGV // die "usage: gmjob.pl submit|jobs|work|drop ...\n";
$SIG{PIPE} = "IGNORE";

if ($cmd eq "submit") {
	my ($port, $acked, $prefix, $count, $window) = @ARGV;
	$window //= 64;
	open(my $out, ">>", $acked) or die "$acked: $!\n";
	$out->autoflush(1);
	my $s = eval { connect_to($port) } or exit 0;
	my ($sent, $got) = (0, 0);
	while ($got < $count) {
		my $burst = "";
		while ($sent < $count && $sent - $got < $window) {
			$burst .= pkt($T{SUBMIT_JOB_BG}, "jfn",
			    "$prefix-$sent", "data-$prefix-$sent");
			$sent++;
		}
		last if length $burst && !sendall($s, $burst);
		my ($t, $b) = readpkt($s);
		last unless defined $t;
		if ($t == $T{JOB_CREATED}) {
			print $out "$prefix-$got\n";
		} elsif ($t == $T{ERROR}) {
			print STDERR "error for $prefix-$got: $b\n";
		} else {
			die "unexpected reply $t\n";
		}
		$got++;
	}
	exit 0;
} elsif ($cmd eq "jobs") {
	my ($port) = @ARGV;
	my $s = connect_to($port);
	while (my $line = <STDIN>) {
		chomp $line;
		next if $line =~ /^\s*(#|$)/;
		my ($kind, $func, $unique, $data) = split / /, $line, 4;
		$func = unescape($func);
		$unique = unescape($unique);
		$data = unescape($data // "-");
		my $p;
		if ($kind eq "bg") {
			$p = pkt($T{SUBMIT_JOB_BG}, $func, $unique, $data);
		} elsif ($kind eq "high") {
			$p = pkt($T{SUBMIT_JOB_HIGH_BG}, $func, $unique, $data);
		} elsif ($kind eq "low") {
			$p = pkt($T{SUBMIT_JOB_LOW_BG}, $func, $unique, $data);
		} elsif ($kind =~ /^epoch:(\d+)$/) {
			$p = pkt($T{SUBMIT_JOB_EPOCH}, $func, $unique, $1,
			    $data);
		} else {
			die "bad kind $kind\n";
		}
		sendall($s, $p) or die "send: $!\n";
		my ($t, $b) = readpkt($s);
		die "no reply\n" unless defined $t;
		die "reply $t: $b\n" unless $t == $T{JOB_CREATED};
		print "$b\n";
	}
	exit 0;
} elsif ($cmd eq "work") {
	my ($port, $funcs, $file, $round, $mode) = @ARGV;
	$round //= 0;
	my $drain = defined $mode && $mode eq "drain";
	# flaky: fail a job whose unique id ends in 0, 1 or 2 the first time
	# this worker sees it (the server's retry policy brings it back).
	my $flaky = defined $mode && $mode eq "flaky";
	my %failed;
	open(my $out, ">>", $file) or die "$file: $!\n";
	$out->autoflush(1);
	my $s = eval { connect_to($port) } or exit($drain ? 1 : 0);
	for my $f (split /,/, $funcs) {
		sendall($s, pkt($T{CAN_DO}, $f)) or exit 0;
	}
	for (;;) {
		sendall($s, pkt($T{GRAB_JOB_UNIQ})) or last;
		my ($t, $b) = readpkt($s);
		last unless defined $t;
		if ($t == $T{NO_JOB}) {
			last if $drain;
			sendall($s, pkt($T{PRE_SLEEP})) or last;
			do {
				($t, $b) = readpkt($s);
			} while (defined $t && $t != $T{NOOP});
			last unless defined $t;
			next;
		}
		next if $t == $T{NOOP};
		die "unexpected reply $t\n" unless $t == $T{JOB_ASSIGN_UNIQ};
		my ($h, $f, $u, $d) = split /\0/, $b, 4;
		$d //= "";
		if ($flaky && $u =~ /[012]$/ && !$failed{$u}++) {
			sendall($s, pkt($T{WORK_FAIL}, $h)) or last;
			next;
		}
		print $out "$round $f $u ", unpack("H*", $d), "\n";
		sendall($s, pkt($T{WORK_COMPLETE}, $h, "")) or last;
	}
	exit 0;
} elsif ($cmd eq "drop") {
	my ($port, $func) = @ARGV;
	my $s = connect_to($port);
	sendall($s, pkt($T{CAN_DO}, $func) . pkt($T{GRAB_JOB_UNIQ}));
	my ($t, $b) = readpkt($s);
	die "no job\n" unless defined $t && $t == $T{JOB_ASSIGN_UNIQ};
	my ($h, $f, $u) = split /\0/, $b, 4;
	print "$u\n";
	close $s;
	exit 0;
}
die "unknown command $cmd\n";
