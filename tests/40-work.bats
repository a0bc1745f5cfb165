#!/usr/bin/env bats
# gm-work: options, results, failures, payload sizes, output modes.
# Jobs are submitted with the gearman CLI or with a raw-socket Perl client
# that prints every packet it gets.

bats_require_minimum_version 1.5.0
load helper
load 40-work-helper

@test "--help and -H print usage to stdout and exit 0" {
	run --separate-stderr gm-work --help
	assert_success
	assert_line --index 0 --partial "usage: gm-work [-0CnNvVx]"
	[ -z "$stderr" ]
	run --separate-stderr gm-work -H
	assert_success
	assert_line --index 0 --partial "usage: gm-work"
}

@test "a bare -h prints usage to stdout and exits 0" {
	run --separate-stderr gm-work -h
	assert_success
	assert_line --index 0 --partial "usage: gm-work"
}

@test "a bad option prints usage to stderr and exits 2" {
	run --separate-stderr gm-work -f x -q
	assert_failure 2
	[ -z "$output" ]
	[[ "$stderr" == "gm-work: unknown option -- 'q'"$'\n'"usage: gm-work"* ]]
	run --separate-stderr gm-work -f x --bogus
	assert_failure 2
	[[ "$stderr" == "gm-work: unknown option '--bogus'"$'\n'"usage: "* ]]
}

@test "no -f, a bad number or an empty function is a usage error" {
	run --separate-stderr gm-work -- cat
	assert_failure 2
	[[ "$stderr" == "gm-work: no function given (-f)"$'\n'"usage: "* ]]
	run --separate-stderr gm-work -f x -j 0 cat
	assert_failure 2
	[[ "$stderr" == "gm-work: -j 0: too small"$'\n'"usage: "* ]]
	run --separate-stderr gm-work -f x -t abc cat
	assert_failure 2
	[[ "$stderr" == "gm-work: -t abc: invalid"$'\n'"usage: "* ]]
	run --separate-stderr gm-work -f "" cat
	assert_failure 2
	run --separate-stderr gm-work -f x -c
	assert_failure 2
	[[ "$stderr" == "gm-work: option requires an argument -- 'c'"$'\n'"usage: "* ]]
}

@test "-V prints the version" {
	run --separate-stderr gm-work -V
	assert_success
	[[ "$output" =~ ^gm-work\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
}

@test "a command's stdout is the result" {
	work_start w -f rev -- rev
	run --separate-stderr gm_client -f rev <<<"hello world"
	assert_success
	assert_output "dlrow olleh"
	[ -z "$stderr" ]
}

@test "no command: the payload comes back as the result (gearman -w returns nothing)" {
	work_start w -f echo
	printf 'payload\n' >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr gm_client -f echo <"$BATS_TEST_TMPDIR/in"
	assert_success
	assert_output "payload"
	work_stop w
	# gearman -w writes the payload to its own stdout and returns nothing.
	gearman_w g -f echo
	run --separate-stderr gm_client -f echo <"$BATS_TEST_TMPDIR/in"
	assert_success
	assert_output ""
}

@test "binary payloads with NUL bytes pass through unchanged" {
	work_start w -f cat -- cat
	work_start e -f echo
	printf 'a\0b\0\0\377\n\0end' >"$BATS_TEST_TMPDIR/in"
	gm_client -f cat <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out"
	cmp "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/out"
	gm_client -f echo <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out2"
	cmp "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/out2"
}

@test "an empty payload gives the command an empty stdin" {
	work_start w -f wc -- wc -c
	run gm_client -s -f wc
	assert_success
	assert_output "0"
}

@test "50 MB through gm-work -- cat arrives intact" {
	work_start w -f cat -- cat
	head -c 50000000 /dev/urandom >"$BATS_TEST_TMPDIR/big"
	# A raw client: the gearman CLI takes minutes to send 50 MB.
	rawjob cat <"$BATS_TEST_TMPDIR/big" >"$BATS_TEST_TMPDIR/big.out"
	run stat -c %s "$BATS_TEST_TMPDIR/big.out"
	assert_output 50000000
	a=$(sha256sum <"$BATS_TEST_TMPDIR/big")
	b=$(sha256sum <"$BATS_TEST_TMPDIR/big.out")
	[ "$a" = "$b" ]
}

@test "1 MB through cat: gm-work completes, gearman -w deadlocks" {
	head -c 1000000 /dev/urandom >"$BATS_TEST_TMPDIR/in"
	work_start w -f cat -- cat
	rawjob cat <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out"
	cmp "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/out"
	work_stop w
	# gearman -w writes all input before reading any output: it never ends.
	gearman_w g -f cat -- cat
	RAWJOB_TIMEOUT=5 run rawjob cat <"$BATS_TEST_TMPDIR/in"
	assert_failure 124
}

@test "a command that stops reading early still completes" {
	work_start w -f head -- head -c 5
	head -c 2000000 /dev/zero | tr '\0' x >"$BATS_TEST_TMPDIR/in"
	run gm_client -f head <"$BATS_TEST_TMPDIR/in"
	assert_success
	assert_output "xxxxx"
}

@test "failing command: output so far, stderr tail and status as a warning, then WORK_FAIL" {
	work_start w -f fails -- sh -c 'echo partial; echo to stderr >&2; exit 3'
	run pkts fails <<<"x"
	assert_success
	assert_output - <<-'EOF'
	WORK_DATA partial\x0a
	WORK_WARNING to stderr\x0agm-work: sh: exited with status 3\x0a
	WORK_FAIL
	EOF
	# The command's stderr is on gm-work's own stderr, with a log line.
	wait_until 20 grep -qx "to stderr" "$(work_err w)"
	wait_until 20 grep -qx "gm-work: job H:.*(fails): sh: exited with status 3" \
	    "$(work_err w)"
}

@test "failing command: the gearman client prints the warning and exits 1 (gearman -w sends no reason)" {
	work_start w -f fails -- sh -c 'echo partial; echo oops >&2; exit 3'
	run --separate-stderr gm_client -f fails <<<"x"
	assert_failure 1
	assert_output "partial"
	[ "$stderr" = $'oops\ngm-work: sh: exited with status 3\nJob failed' ]
	work_stop w
	# gearman -w keeps the command's stderr to itself.
	gearman_w g -f fails -- sh -c 'echo partial; echo oops >&2; exit 3'
	run --separate-stderr gm_client -f fails <<<"x"
	assert_failure 1
	assert_output "partial"
	[ "$stderr" = "Job failed" ]
}

@test "-x sends failures as WORK_EXCEPTION" {
	work_start w -x -f fails -- sh -c 'echo err >&2; exit 4'
	run pkts -x fails <<<"x"
	assert_success
	assert_output 'WORK_EXCEPTION err\x0agm-work: sh: exited with status 4\x0a'
}

@test "-x with a client that did not ask for exceptions: gm-server sends a WORK_FAIL it can read, gearmand one it hangs on" {
	work_start w -x -f fails -- sh -c 'echo err >&2; exit 4'
	if is_gm; then
		run --separate-stderr gm_client -f fails x
		assert_failure 1
		[ "$stderr" = "Job failed" ]
	else
		# protocol.md 5.6: hence WARNING + FAIL without -x.
		run timeout 5 gearman -f fails x
		assert_failure 124
	fi
}

@test "a command killed by a signal fails (gearman -w reports success)" {
	cmd=(sh -c 'echo partial; kill -9 $$')
	work_start w -f sig -- "${cmd[@]}"
	run pkts sig <<<"x"
	assert_success
	assert_output - <<-'EOF'
	WORK_DATA partial\x0a
	WORK_WARNING gm-work: sh: killed by signal 9 (Killed)\x0a
	WORK_FAIL
	EOF
	work_stop w
	gearman_w g -f sig -- "${cmd[@]}"
	run pkts sig <<<"x"
	assert_success
	assert_output 'WORK_COMPLETE partial\x0a'
}

@test "exec failure is a failure with a clear message (gearman -w reports success)" {
	work_start w -f nope -- /nonexistent/cmd arg
	run pkts nope <<<"x"
	assert_success
	assert_output - <<-'EOF'
	WORK_WARNING gm-work: cannot run /nonexistent/cmd: No such file or directory\x0a
	WORK_FAIL
	EOF
	wait_until 20 grep -qxF "gm-work: cannot run /nonexistent/cmd: No such file or directory" \
	    "$(work_err w)"
	work_stop w
	gearman_w g -f nope -- /nonexistent/cmd arg
	run pkts nope <<<"x"
	assert_success
	assert_output 'WORK_COMPLETE '
}

@test "-n sends each line as its own WORK_DATA (gearman -w resends all output so far)" {
	work_start w -n -f lines -- printf 'a\nb\nc\n'
	run pkts lines <<<"x"
	assert_success
	assert_output - <<-'EOF'
	WORK_DATA a\x0a
	WORK_DATA b\x0a
	WORK_DATA c\x0a
	WORK_COMPLETE 
	EOF
	work_stop w
	gearman_w g -n -f lines -- printf 'a\nb\nc\n'
	run pkts lines <<<"x"
	assert_success
	assert_output - <<-'EOF'
	WORK_DATA a\x0a
	WORK_DATA a\x0ab\x0a
	WORK_DATA a\x0ab\x0ac\x0a
	WORK_COMPLETE 
	EOF
}

@test "-n sends a line as soon as it appears" {
	# The second line is written only once the client has seen the first.
	work_start w -n -f live -- sh -c \
	    'echo one; while [ ! -e "$0" ]; do sleep 0.02; done; echo two' \
	    "$BATS_TEST_TMPDIR/go"
	pkts live <<<"x" >"$BATS_TEST_TMPDIR/out" 3>&- &
	client=$!
	wait_until 20 grep -q 'WORK_DATA one' "$BATS_TEST_TMPDIR/out"
	run cat "$BATS_TEST_TMPDIR/out"
	assert_output 'WORK_DATA one\x0a'
	touch "$BATS_TEST_TMPDIR/go"
	wait "$client"
	run cat "$BATS_TEST_TMPDIR/out"
	assert_output - <<-'EOF'
	WORK_DATA one\x0a
	WORK_DATA two\x0a
	WORK_COMPLETE 
	EOF
}

@test "-N strips newlines only, never a real byte (gearman -w loses the last one)" {
	work_start w -N -f lines -- printf 'a\nb\nc'
	run pkts lines <<<"x"
	assert_success
	assert_output - <<-'EOF'
	WORK_DATA a
	WORK_DATA b
	WORK_DATA c
	WORK_COMPLETE 
	EOF
	work_stop w
	gearman_w g -N -f lines -- printf 'a\nb\nc'
	run pkts lines <<<"x"
	assert_success
	assert_output - <<-'EOF'
	WORK_DATA a
	WORK_DATA a\x0ab
	WORK_DATA a\x0ab\x0a
	WORK_COMPLETE 
	EOF
}

@test "-n keeps long lines whole" {
	work_start w -n -f lines -- sh -c \
	    'head -c 300000 /dev/zero | tr "\0" a; echo; echo short;
	    head -c 100000 /dev/zero | tr "\0" b'
	run pkts -l lines <<<"x"
	assert_success
	assert_output - <<-'EOF'
	WORK_DATA 300001
	WORK_DATA 6
	WORK_DATA 100000
	WORK_COMPLETE 0
	EOF
}

@test "-n with no command sends the payload's lines" {
	work_start w -n -f echo
	run pkts echo < <(printf 'x\ny\n')
	assert_success
	assert_output - <<-'EOF'
	WORK_DATA x\x0a
	WORK_DATA y\x0a
	WORK_COMPLETE 
	EOF
}

@test "the command sees GM_FUNCTION, GM_HANDLE and GM_UNIQUE" {
	work_start w -f envf -- sh -c \
	    'printf "%s|%s|%s" "$GM_FUNCTION" "$GM_HANDLE" "$GM_UNIQUE"'
	run gm_client -u my-unique -f envf x
	assert_success
	[[ "$output" =~ ^envf\|H:[^|]+:[0-9]+\|my-unique$ ]]
}

@test "lines 'N D' on file descriptor 3 become WORK_STATUS" {
	work_start w -f prog -- sh -c \
	    'echo "1 4" >&3; echo "3 4" >&3; echo "junk" >&3; echo done'
	run pkts prog <<<"x"
	assert_success
	assert_output - <<-'EOF'
	WORK_STATUS 1 4
	WORK_STATUS 3 4
	WORK_COMPLETE done\x0a
	EOF
	wait_until 20 grep -qx "gm-work: job H:.*: bad progress line on fd 3" "$(work_err w)"
}

@test "progress on fd 3 shows in GET_STATUS of a running job" {
	work_start w -f prog -- sh -c \
	    'echo "5 10" >&3; while [ ! -e "$0" ]; do sleep 0.02; done' \
	    "$BATS_TEST_TMPDIR/go"
	handle=$(submit_bg prog x)
	wait_until 20 eval '[ "$(job_status "$handle")" = "1 1 5 10" ]'
	touch "$BATS_TEST_TMPDIR/go"
	wait_until 20 eval '[ "$(job_status "$handle")" = "0 0 0 0" ]'
}

@test "options stop at the command: its own options are left alone (unlike gearman -w)" {
	work_start w -f head head -n 1
	run gm_client -f head < <(printf 'one\ntwo\n')
	assert_success
	assert_output "one"
	work_stop w
	# gearman permutes argv: it takes -n itself and runs "head 1".
	gearman_w g -f head head -n 1
	run --separate-stderr gm_client -f head < <(printf 'one\ntwo\n')
	assert_failure 1
	assert_output ""
}

@test "-t kills the whole process group of an overrunning job and fails it" {
	gc="$BATS_TEST_TMPDIR/grandchild"
	work_start w -t 3 -f slow -- sh -c 'sleep 300 & echo $! >"$0"; wait' "$gc"
	# The command must start its child and write down its pid within
	# -t; a loaded machine may stall it past that, so the job is sent
	# again until a run got that far (each run times out and fails the
	# same way).
	local n=0
	until [ -s "$gc" ] || [ $((n += 1)) -gt 10 ]; do
		run pkts slow <<<"x"
		assert_success
		assert_output - <<-'EOF'
		WORK_WARNING gm-work: sh: timed out after 3 s, killed\x0a
		WORK_FAIL
		EOF
	done
	[ -s "$gc" ]
	wait_until 10 eval '! kill -0 "$(cat "$gc")" 2>/dev/null'
	wait_until 20 grep -qx "gm-work: job H:.*(slow): timed out after 3 s, killing it" \
	    "$(work_err w)"
	# The worker goes on taking jobs.
	run pkts slow < /dev/null
	assert_output - <<-'EOF'
	WORK_WARNING gm-work: sh: timed out after 3 s, killed\x0a
	WORK_FAIL
	EOF
}

@test "-t: a job that finishes in time completes" {
	# A deadline no start of cat on a loaded machine comes near: the job
	# ends long before it.
	work_start w -t 600 -f quick -- cat
	run gm_client -f quick quick-one
	assert_success
	assert_output "quick-one"
}

@test "-j 2 runs two jobs at once" {
	# Each job waits until the other one has started.
	d=$BATS_TEST_TMPDIR
	work_start w -j 2 -f pair -- sh -c '
	    read me other; touch "$0/$me.started"; n=0
	    while [ ! -e "$0/$other.started" ]; do
	        n=$((n + 1)); [ $n -lt 1000 ] || exit 1; sleep 0.02
	    done; touch "$0/$me.done"' "$d"
	gm_client -b -f pair "a b" >/dev/null
	gm_client -b -f pair "b a" >/dev/null
	wait_until 30 test -e "$d/a.done" -a -e "$d/b.done"
}

@test "-j 1 (the default) runs one job at a time" {
	d=$BATS_TEST_TMPDIR
	work_start w -f one -- sh -c '
	    read me; [ ! -e "$0/busy" ] || exit 1; touch "$0/busy";
	    sleep 0.2; rm "$0/busy"; touch "$0/$me.done"' "$d"
	for i in 1 2 3; do gm_client -b -f one "$i" >/dev/null; done
	wait_until 30 test -e "$d/1.done" -a -e "$d/2.done" -a -e "$d/3.done"
	# The last job's result reaches the server after its done file.
	wait_status one '0 0 1'
}

@test "-c N exits 0 after N jobs and leaves the rest queued" {
	for i in 1 2 3 4 5; do gm_client -b -f cnt "$i" >/dev/null; done
	NOWAIT=1 work_start w -c 3 -f cnt -- cat
	work_wait w
	[ "$WORK_STATUS" -eq 0 ]
	# The server sees the worker leave after it has exited.
	wait_status cnt '2 0 0'
}

@test "-c counts jobs, not attempts (gearman -w -c counts failed connects)" {
	port_hold
	port=$HELD_PORT
	run env -u GEARMAN_SERVER timeout 20 gearman -w -c 2 -h 127.0.0.1 \
	    -p "$port" -f cnt
	assert_success
	NOWAIT=1 work_start w -c 1 -h "127.0.0.1:$port" -f cnt -- cat
	wait_until 20 grep -q "cannot connect" "$(work_err w)"
	pid_alive "$(work_pid w)"
	PORT_late=$port server_start late
	wait_until 20 grep -qxF "gm-work: connected to 127.0.0.1:$port" "$(work_err w)"
	run env GEARMAN_SERVER="127.0.0.1:$port" timeout 20 gearman -f cnt hi
	assert_output "hi"
	work_wait w
	[ "$WORK_STATUS" -eq 0 ]
}

@test "--id sets the client id shown by the server's workers list" {
	work_start w --id my-worker -f f1 -f f2 -- cat
	wait_workers f2 1
	run admin workers
	assert_line --regexp "^[0-9]+ 127\.0\.0\.1 my-worker : (f1 f2|f2 f1)$"
}

@test "the default client id is host:pid (gearman -w sets none)" {
	work_start w -f f1 -- cat
	run admin workers
	assert_line --regexp "^[0-9]+ 127\.0\.0\.1 [^ ]+:$(work_pid w) : f1$"
	work_stop w
	# gearman -w sets no id.
	gearman_w g -f f1 -- cat
	run admin workers
	assert_line --regexp "^[0-9]+ 127\.0\.0\.1 - : f1$"
}

@test "-i writes a pid file and removes it at exit" {
	work_start w -i "$BATS_TEST_TMPDIR/pid" -f f1 -- cat
	wait_until 10 test -s "$BATS_TEST_TMPDIR/pid"
	[ "$(cat "$BATS_TEST_TMPDIR/pid")" = "$(work_pid w)" ]
	work_stop w
	[ ! -e "$BATS_TEST_TMPDIR/pid" ]
}
