#!/usr/bin/perl
# Gearman::Worker (libgearman-client-perl) for the compatibility suites.
#
# perl-worker.pl [-c N] [-i ID] FUNC...    against $GEARMAN_SERVER
#
# Functions: rev (reverse), upper, echo, fail (WORK_FAIL), exc
# (WORK_EXCEPTION "boom"), die (dies: Gearman::Worker then sends
# WORK_EXCEPTION and WORK_FAIL), progress (WORK_STATUS 1/2, WORK_DATA "part",
# WORK_STATUS 2/2, then "done").  -c N exits after N jobs.

use strict;
use warnings;
use Getopt::Std;
use Gearman::Worker;

my %o;
getopts('c:i:', \%o) or die "usage: perl-worker.pl [-c N] [-i ID] FUNC...\n";
my %fn = (
    rev      => sub { scalar reverse $_[0]->arg },
    upper    => sub { uc $_[0]->arg },
    echo     => sub { $_[0]->arg },
    fail     => sub { undef },
    die      => sub { die "oops\n" },
);
my $w = Gearman::Worker->new(job_servers => [$ENV{GEARMAN_SERVER}],
    defined $o{i} ? (client_id => $o{i}) : ());
$fn{exc} = sub {
    $w->send_work_exception($_[0], 'boom');
    return undef;
};
$fn{progress} = sub {
    my $job = shift;
    $job->set_status(1, 2);
    $w->send_work_data($job, 'part');
    $job->set_status(2, 2);
    return 'done';
};
for my $f (@ARGV) {
    $fn{$f} or die "unknown function $f\n";
    $w->register_function($f => $fn{$f});
}
my $jobs = 0;
$w->work(
    on_complete => sub { $jobs++ },
    on_fail     => sub { $jobs++ },
    stop_if     => sub { defined $o{c} && $jobs >= $o{c} },
);
exit 0;
