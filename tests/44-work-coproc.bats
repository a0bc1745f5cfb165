#!/usr/bin/env bats
# gm-work -C: coprocesses started once that serve a job after another, a
# record in and a record out; framings, failures, -t, SIGTERM, a Python
# worker.  The same against gm-server and gearmand: it is only a worker.

bats_require_minimum_version 1.5.0
load helper
load 40-work-helper

# An answer per line, flushed: "r:" and the line.
RPFX='while IFS= read -r l; do printf "r:%s\n" "$l"; done'

@test "usage: -C needs a command, -n is not for -C, --framing takes a known word" {
	run -2 --separate-stderr "$GM_BIN/gm-work" -C -f x
	[[ "$stderr" == "gm-work: -C needs a command"$'\n'"usage: "* ]]
	run -2 --separate-stderr "$GM_BIN/gm-work" -C -n -f x -- cat
	[[ "$stderr" == "gm-work: -n and -N are for a command per job, not -C or --stream"$'\n'"usage: "* ]]
	run -2 --separate-stderr "$GM_BIN/gm-work" -C --framing crlf -f x -- cat
	[[ "$stderr" == "gm-work: --framing crlf: not line, nul or length"$'\n'"usage: "* ]]
	run -2 --separate-stderr "$GM_BIN/gm-work" -0 -f x -- cat
	[[ "$stderr" == "gm-work: --framing and -0 need -C or --stream"$'\n'"usage: "* ]]
	run -1 --separate-stderr "$GM_BIN/gm-work" -C -f x -- /nonexistent/cmd
	assert_equal "$stderr" "gm-work: cannot run /nonexistent/cmd: No such file or directory"
}

@test "10,000 jobs through one coprocess: each result is its own job's, one process" {
	work_start w -C -f co1 -- sh -c "echo started >&2; $RPFX"
	run fg_many co1 10000 r:
	assert_output "ok=10000 bad=0"
	run grep -c started "$(work_err w)"
	assert_output 1
}

@test "10,000 jobs through -j 4 coprocesses: each result is its own job's, four processes" {
	work_start w -C -j 4 -f co4 -- sh -c "echo started >&2; $RPFX"
	run fg_many co4 10000 r:
	assert_output "ok=10000 bad=0"
	run grep -c started "$(work_err w)"
	assert_output 4
}

@test "line records: a payload with a newline fails with a clear message, the coprocess goes on" {
	work_start w -C -f lines -- cat
	run pkts lines < <(printf 'a\nb')
	assert_output - <<-'EOF2'
	WORK_WARNING gm-work: the payload holds a newline: line records cannot carry it (use -0 or --framing length)\x0a
	WORK_FAIL
	EOF2
	run pkts lines < <(printf 'one line')
	assert_output 'WORK_COMPLETE one line'
}

@test "nul records carry newlines, refuse a NUL byte" {
	work_start w -C -0 -f nul -- cat
	run pkts nul < <(printf 'a\nb\n')
	assert_output 'WORK_COMPLETE a\x0ab\x0a'
	run pkts nul < <(printf 'a\0b')
	assert_output - <<-'EOF2'
	WORK_WARNING gm-work: the payload holds a NUL byte: nul records cannot carry it (use --framing length)\x0a
	WORK_FAIL
	EOF2
}

@test "length records carry any bytes: NULs, newlines, 1 MiB, empty" {
	work_start w -C --framing length -f len -- cat
	run pkts len < <(printf 'a\0b\nc')
	assert_output 'WORK_COMPLETE a\x00b\x0ac'
	run pkts len </dev/null
	assert_output 'WORK_COMPLETE '
	head -c 1048576 /dev/urandom >"$BATS_TEST_TMPDIR/big"
	rawjob len <"$BATS_TEST_TMPDIR/big" >"$BATS_TEST_TMPDIR/big.out"
	cmp "$BATS_TEST_TMPDIR/big" "$BATS_TEST_TMPDIR/big.out"
}

@test "1 MiB line and nul records pass whole" {
	work_start w -C -f big1 -- cat
	head -c 1048576 /dev/zero | tr '\0' x >"$BATS_TEST_TMPDIR/big"
	rawjob big1 <"$BATS_TEST_TMPDIR/big" >"$BATS_TEST_TMPDIR/big.out"
	cmp "$BATS_TEST_TMPDIR/big" "$BATS_TEST_TMPDIR/big.out"
	work_start v -C -0 -f big0 -- cat
	head -c 1048576 /dev/zero | tr '\0' '\n' >"$BATS_TEST_TMPDIR/big"
	rawjob big0 <"$BATS_TEST_TMPDIR/big" >"$BATS_TEST_TMPDIR/big.out"
	cmp "$BATS_TEST_TMPDIR/big" "$BATS_TEST_TMPDIR/big.out"
}

@test "a length record that is not one kills the coprocess and fails its job" {
	work_start w -C --framing length -f badlen -- sh -c 'read l; echo nonsense'
	run pkts badlen < <(printf x)
	assert_output - <<-'EOF2'
	WORK_WARNING gm-work: sh: a record does not start with a length and a newline\x0a
	WORK_FAIL
	EOF2
}

@test "a coprocess that exits mid-job fails that job with its stderr; a new one serves the next" {
	work_start w -C -f dies -- sh -c 'echo started >&2
	    while IFS= read -r l; do
		[ "$l" = die ] && { echo "dying on $l" >&2; exit 3; }
		echo "ok $l"
	    done'
	run pkts dies < <(printf a)
	assert_output 'WORK_COMPLETE ok a'
	run pkts dies < <(printf die)
	assert_output - <<-'EOF2'
	WORK_WARNING dying on die\x0agm-work: sh: exited with status 3\x0a
	WORK_FAIL
	EOF2
	run pkts dies < <(printf b)
	assert_output 'WORK_COMPLETE ok b'
	run grep -c started "$(work_err w)"
	assert_output 2
	wait_until 20 grep -qx "gm-work: job H:.*(dies): sh: exited with status 3" \
	    "$(work_err w)"
}

@test "a coprocess that does not answer within -t is killed with its children; a new one serves the next" {
	# The coprocess's child (a sleep) writes down its pid.  -t is 5 s,
	# not less: the new coprocess must answer the next job within it.
	gc=$BATS_TEST_TMPDIR/grandchild
	work_start w -C -t 5 -f hang -- sh -c 'while IFS= read -r l; do
		if [ "$l" = hang ]; then sleep 300 & echo $! >"$0"; wait; fi
		echo "ok $l"
	    done' "$gc"
	run pkts hang < <(printf hang)
	assert_output - <<-'EOF2'
	WORK_WARNING gm-work: sh: timed out after 5 s, killed\x0a
	WORK_FAIL
	EOF2
	run pkts hang < <(printf x)
	assert_output 'WORK_COMPLETE ok x'
	wait_until 20 grep -qx "gm-work: job H:.*(hang): no answer after 5 s, killing coprocess 1" \
	    "$(work_err w)"
	[ -s "$gc" ]
	wait_until 20 eval '! kill -0 "$(cat "$gc")" 2>/dev/null'
}

@test "progress on fd 3 reaches the client as WORK_STATUS" {
	work_start w -C -f prog -- sh -c 'while IFS= read -r l; do
		echo "1 2" >&3; echo "r:$l"; done'
	run pkts prog < <(printf x)
	assert_output - <<-'EOF2'
	WORK_STATUS 1 2
	WORK_COMPLETE r:x
	EOF2
}

@test "SIGTERM: the running job finishes, then the coprocesses see EOF and exit, gm-work exits 0" {
	d=$BATS_TEST_TMPDIR
	work_start w -C -j 2 -f drain -- sh -c 'while IFS= read -r l; do
		touch "$0.started"
		while [ ! -e "$0" ]; do sleep 0.02; done
		echo "done $l"
	    done
	    echo "coprocess saw EOF" >&2' "$d/go"
	gm_client -f drain x >"$d/out" 3>&- &
	client=$!
	term_running w "$d/go.started"
	touch "$d/go"
	wait "$client"
	assert_equal "$(cat "$d/out")" "done x"
	work_wait w
	[ "$WORK_STATUS" -eq 0 ]
	run grep -c "coprocess saw EOF" "$(work_err w)"
	assert_output 2
}

@test "a Python coprocess worker with no Gearman library (the README's)" {
	command -v python3 >/dev/null || skip "python3 is not installed"
	cat >"$BATS_TEST_TMPDIR/upper.py" <<-'EOF2'
	import sys

	# One job per line on stdin; one result per line on stdout.
	for line in sys.stdin:
	    job = line.rstrip("\n")
	    result = job.upper()
	    print(result, flush=True)
	EOF2
	work_start w -C -f upper -- python3 "$BATS_TEST_TMPDIR/upper.py"
	run pkts upper < <(printf 'gm-work')
	assert_output 'WORK_COMPLETE GM-WORK'
	run pkts upper < <(printf hello)
	assert_output 'WORK_COMPLETE HELLO'
}

@test "a PHP coprocess worker with length records (the README's)" {
	command -v php >/dev/null || skip "php is not installed"
	cat >"$BATS_TEST_TMPDIR/rev.php" <<-'EOF2'
	<?php
	// Each job: "LENGTH\n" and the payload; each result the same way.
	while (($n = fgets(STDIN)) !== false) {
	    $job = (int)$n > 0 ? stream_get_contents(STDIN, (int)$n) : '';
	    $result = strrev($job);
	    fwrite(STDOUT, strlen($result) . "\n" . $result);
	    fflush(STDOUT);
	}
	EOF2
	work_start w -C --framing length -f rev -- php "$BATS_TEST_TMPDIR/rev.php"
	run pkts rev < <(printf 'ab\ncd\0e')
	assert_output 'WORK_COMPLETE e\x00dc\x0aba'
	run pkts rev </dev/null
	assert_output 'WORK_COMPLETE '
}
