#!/usr/bin/env bats
# Crash under load, repeated: clients submit background jobs while a worker
# runs, the server is killed with SIGKILL at a random moment and started
# again on the same journal.  Every job whose JOB_CREATED reached a client
# must be delivered; a job may be delivered twice only across a crash (it
# was running, or done but its end not yet on disk), never twice by one
# server.  gm-server only (gearmand's queue is in memory unless a module).
#
# GM_CRASH_ROUNDS (20), GM_CRASH_CLIENTS (4) and GM_CRASH_JOBS (jobs per
# client per round, 500) size the run; GM_CRASH_SYNC picks --journal-sync.
# The journal compacts from 256 KiB on (GM_CRASH_COMPACT_BYTES), so that
# some kills land during a compaction.  The worker fails a third of the
# jobs once each (per worker process); a retry policy brings them back, so
# some kills land while jobs wait for a retry, and those must survive too.

load helper

GMJOB="$BATS_TEST_DIRNAME/50-data/gmjob.pl"

teardown_file() {
	kill_started
}

# acked_count DIR ROUND: acknowledged jobs of a round so far.
acked_count() {
	cat "$1"/acked."$2".* 2>/dev/null | wc -l
}

# round_over DIR ROUND TARGET PIDS...: enough acks, or every client done.
round_over() {
	local dir=$1 round=$2 target=$3 p
	shift 3
	[ "$(acked_count "$dir" "$round")" -ge "$target" ] && return 0
	for p in "$@"; do
		pid_alive "$p" && return 1
	done
	return 0
}

@test "SIGKILL under load, repeated: no acknowledged job is lost" {
	gm_only
	local rounds=${GM_CRASH_ROUNDS:-20} clients=${GM_CRASH_CLIENTS:-4}
	local per=${GM_CRASH_JOBS:-500} sync=${GM_CRASH_SYNC:-always}
	local d=$BATS_TEST_TMPDIR r k target pids wpid
	JOURNAL_k=$d/journal
	export GM_JOURNAL_COMPACT_BYTES=${GM_CRASH_COMPACT_BYTES:-262144}
	for r in $(seq 1 "$rounds"); do
		unset PORT_k
		server_start k --journal-sync "$sync" --retries 1000 \
		    --retry-backoff 1 --retry-max-delay 5
		pids=()
		for k in $(seq 1 "$clients"); do
			perl "$GMJOB" submit "$PORT_k" "$d/acked.$r.$k" \
			    "r$r-c$k" "$per" 2>>"$d/client-errors" 3>&- &
			pids+=($!)
		done
		perl "$GMJOB" work "$PORT_k" jfn "$d/delivered" "$r" flaky \
		    3>&- &
		wpid=$!
		# Kill at a random point of the round's acknowledgements.
		target=$((RANDOM % (clients * per)))
		wait_until 120 round_over "$d" "$r" "$target" "${pids[@]}"
		server_stop k KILL
		wait "${pids[@]}" "$wpid" || true
	done
	unset PORT_k
	server_start k --retries 1000 --retry-backoff 1 --retry-max-delay 5
	# Retries replayed from the journal are due: wait until all are queued.
	wait_until 20 eval '[ "$(admin "$PORT_k" retrying)" = . ]'
	perl "$GMJOB" work "$PORT_k" jfn "$d/delivered" final drain 3>&-
	# The journal is empty once everything was delivered.
	wait_until 20 eval '[ "$(admin "$PORT_k" journal |
	    awk -F "\t" "\$1 == \"live\" { print \$2 }")" = 0 ]'

	cat "$d"/acked.* >"$d/acked"
	run perl -e '
	    my ($acked, $delivered) = @ARGV;
	    my (%seen, %round, $dups, $bad, $nd);
	    open(my $d, "<", $delivered) or die;
	    while (<$d>) {
	        $nd++;
	        my ($r, $f, $u, $h) = split;
	        if (pack("H*", $h) ne "data-$u") {
	            print "wrong data for $u\n"; $bad++;
	        }
	        if (exists $round{$u}) {
	            $dups++;
	            if ($round{$u} eq $r) {
	                print "$u delivered twice in round $r\n"; $bad++;
	            }
	        }
	        $round{$u} = $r;
	        $seen{$u}++;
	    }
	    open(my $a, "<", $acked) or die;
	    my $n = 0;
	    while (<$a>) {
	        chomp; $n++;
	        next if $seen{$_};
	        print "lost $_\n"; $bad++;
	    }
	    printf "acked %d delivered %d distinct %d duplicates %d\n",
	        $n, $nd, scalar(keys %seen), $dups // 0;
	    exit($bad ? 1 : 0);' "$d/acked" "$d/delivered"
	echo "# $output" >&3
	assert_success
	[ "$(wc -l <"$d/acked")" -gt 0 ]
}
