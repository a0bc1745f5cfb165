#!/usr/bin/perl
# Gearman::Client (libgearman-client-perl) driver for the compatibility
# suites: one operation per run against $GEARMAN_SERVER, results on stdout.
#
# perl-client.pl do FUNC ARG [UNIQ [high|low]]   do_task; prints the result
# perl-client.pl events FUNC ARG                 do_task, printing callbacks
# perl-client.pl bg FUNC ARG [UNIQ [high|low]]   dispatch_background; handle
# perl-client.pl set FUNC ARG...                 a task set, results by arg
# perl-client.pl setuniq FUNC UNIQ ARG...         a task set whose tasks all
#                                                 have uniq UNIQ; results by
#                                                 task number
# perl-client.pl status HANDLE                   get_status
# perl-client.pl admin                           get_job_server_status
#
# Exit 0, or 1 when the job failed.  GM_EXCEPTIONS=1 asks for exceptions.

use strict;
use warnings;
use Gearman::Client;

my ($op, @args) = @ARGV;
my $client = Gearman::Client->new(
    job_servers => [$ENV{GEARMAN_SERVER}],
    exceptions  => $ENV{GM_EXCEPTIONS} ? 1 : 0,
);
$| = 1;

sub opts {
    my ($uniq, $prio) = @_;
    my %o;
    $o{uniq} = $uniq if defined $uniq && $uniq ne '';
    $o{high_priority} = 1 if defined $prio && $prio eq 'high';
    $o{priority} = 'high' if defined $prio && $prio eq 'high';
    $o{priority} = 'low' if defined $prio && $prio eq 'low';
    return \%o;
}

if ($op eq 'do') {
    my ($f, $arg, $uniq, $prio) = @args;
    my $res = $client->do_task($f, $arg, opts($uniq, $prio));
    if (!defined $res) {
        print "FAILED\n";
        exit 1;
    }
    print $$res, "\n";
} elsif ($op eq 'events') {
    my ($f, $arg) = @args;
    my $failed = 0;
    my $res = $client->do_task($f, $arg, {
        on_data      => sub { print "data ${$_[0]}\n" },
        on_status    => sub { print "status $_[0]/$_[1]\n" },
        on_warning   => sub { print "warning $_[0]\n" },
        on_exception => sub { print "exception $_[0]\n" },
        on_fail      => sub { print "fail\n"; $failed = 1 },
    });
    print "complete $$res\n" if defined $res;
    exit($failed || !defined $res ? 1 : 0);
} elsif ($op eq 'bg') {
    my ($f, $arg, $uniq, $prio) = @args;
    my $h = $client->dispatch_background($f, $arg, opts($uniq, $prio));
    defined $h or die "dispatch_background failed\n";
    print "$h\n";
} elsif ($op eq 'set') {
    my ($f, @list) = @args;
    my $ts = $client->new_task_set;
    my %res;
    for my $a (@list) {
        $ts->add_task($f, $a, {
            on_complete => sub { $res{$a} = ${$_[0]} },
            on_fail     => sub { $res{$a} = 'FAILED' },
        });
    }
    $ts->wait(timeout => 30);
    print "$_=", (defined $res{$_} ? $res{$_} : 'MISSING'), "\n"
        for sort @list;
} elsif ($op eq 'setuniq') {
    my ($f, $uniq, @list) = @args;
    my $ts = $client->new_task_set;
    my %res;
    for my $i (1 .. @list) {
        $ts->add_task($f, $list[$i - 1], {
            uniq        => $uniq,
            on_complete => sub { $res{$i} = ${$_[0]} },
            on_fail     => sub { $res{$i} = 'FAILED' },
        });
    }
    $ts->wait(timeout => 30);
    print "$_=", (defined $res{$_} ? $res{$_} : 'MISSING'), "\n"
        for 1 .. @list;
} elsif ($op eq 'status') {
    my $st = $client->get_status($args[0]);
    if (!defined $st) {
        print "unknown\n";
        exit 0;
    }
    my ($n, $d) = $st->progress ? @{ $st->progress } : (0, 0);
    printf "known=%d running=%d progress=%s/%s\n", $st->known ? 1 : 0,
        $st->running ? 1 : 0, $n, $d;
} elsif ($op eq 'admin') {
    my @st = $client->get_job_server_status;
    for my $js (sort keys %{ $st[0] || {} }) {
        my $fns = $st[0]{$js};
        for my $fn (sort keys %$fns) {
            my $r = $fns->{$fn};
            print join(' ', $fn, map { $r->{$_} } qw(queued running capable)), "\n";
        }
    }
} else {
    die "usage: perl-client.pl do|events|bg|set|setuniq|status|admin ...\n";
}
exit 0;
