#!/usr/bin/env bats
# Failed background jobs: retries with backoff (per function and server
# default), the failed list (dead letter) with its bounds, its journal
# records across SIGKILL, and the gm-admin failed, retry, purge, retries
# and retrying subcommands.  gm-server's extension; where gearmand can be
# asked the same, the test shows what gearmand does instead.

bats_require_minimum_version 1.5.0
load helper

teardown() {
	spawn_kill
	kill_started
}

now_ms() { date +%s%3N; }

# field N LINE: the Nth tab-separated field.
field() { printf '%s\n' "$2" | cut -f"$1"; }

# A failed-list row of FUNC on PORT (admin `failed list FUNC`), or nothing.
failed_row() {
	admin "$1" "failed list $2" | grep -v '^\.$' || true
}

@test "a foreground job's WORK_FAIL still ends it; a background job's leaves status and GET_STATUS as in gearmand" {
	server_start s
	run raw <<'EOF'
REQ SUBMIT_JOB fg "" a
WAIT 1
@3 REQ SUBMIT_JOB_BG bg "" b
@3 WAIT 1
@2 REQ CAN_DO fg
@2 REQ GRAB_JOB
@2 WAIT 1
@2 REQ WORK_FAIL %H
WAIT 1
@2 REQ CANT_DO fg
@2 REQ CAN_DO bg
@2 REQ GRAB_JOB
@2 WAIT 1
@2 REQ WORK_FAIL %H
@2 SYNC
@3 REQ GET_STATUS H:HOST:2
@3 WAIT 1
ADMINSORT status
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
@3 JOB_CREATED H:HOST:2
@2 JOB_ASSIGN H:HOST:1 fg a
WORK_FAIL H:HOST:1
@2 JOB_ASSIGN H:HOST:2 bg b
@3 STATUS_RES H:HOST:2 0 0 0 0
| bg\t0\t0\t1
| fg\t0\t0\t0
| .'
	if is_gm; then
		# The default is no retry: the job went straight to the list.
		row=$(failed_row "$PORT" bg)
		assert_equal "$(field 1 "$row")" "$(host_prefix):2"
		assert_equal "$(field 5 "$row")" 1
		assert_equal "$(field 9 "$row")" WORK_FAIL
		grep -qF "job $(host_prefix):2 (function bg) failed 1 time, kept in the failed list: WORK_FAIL" "$LOG_s"
	fi
}

@test "retries: WORK_FAIL with a warning, an exception, a lost worker, each spaced by the backoff, then the failed list" {
	gm_only
	# Delays far longer than any test: each waiting retry stays listed
	# however slow the machine, and the test runs it when it is done
	# looking (failed retry), as an operator who fixed the cause would.
	GM_JOURNAL=fresh server_start r --retries 2 --retry-backoff 600000 \
	    --retry-max-delay 900000
	t0=$(now_ms)
	run raw <<'EOF'
REQ SUBMIT_JOB_BG f u1 payload-1
WAIT 1
@2 REQ CAN_DO f
@2 REQ GRAB_JOB
@2 WAIT 1
@2 REQ WORK_WARNING %H "disk full"
@2 REQ WORK_FAIL %H
@2 SYNC
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
@2 JOB_ASSIGN H:HOST:1 f payload-1'
	t1=$(now_ms)
	run admin retrying
	assert_equal "${#lines[@]}" 2
	row=${lines[0]}
	assert_equal "$(field 1-4 "$row")" "$(host_prefix):1	f	1	2"
	assert_equal "$(field 6 "$row")" "disk full"
	due=$(field 5 "$row")
	# Retry 1: between half and all of the backoff after the failure.
	[ "$due" -ge $((t0 + 300000)) ] && [ "$due" -le $((t1 + 600000)) ]
	run admin status
	assert_output $'f\t1\t0\t0\n.'
	# Not handed out before it is due.
	run raw <<'EOF'
@2 REQ CAN_DO f
@2 REQ GRAB_JOB
@2 WAIT 1
EOF
	assert_success
	assert_output '@2 NO_JOB'

	run admin "failed retry job $(host_prefix):1"
	assert_output 'OK 1'
	# The release is journaled: after a crash the job is due at once, its
	# tries and error kept.  zz's JOB_CREATED comes once its record is on
	# disk, and the journal writes in order: the release's is too.
	run raw <<'EOF'
REQ SUBMIT_JOB_BG zz "" barrier
WAIT 1
EOF
	assert_success
	server_stop r KILL
	port_hold "$PORT_r"
	GM_JOURNAL=fresh server_start r --retries 2 --retry-backoff 600000 \
	    --retry-max-delay 900000
	grep -q 'journal: 2 jobs restored' "$LOG_r"
	t0=$(now_ms)
	run raw <<'EOF'
@2 REQ CAN_DO f
@2 POLL JOB_ASSIGN REQ GRAB_JOB
@2 REQ WORK_EXCEPTION %H boom
@2 SYNC
EOF
	assert_success
	assert_output '@2 JOB_ASSIGN H:HOST:1 f payload-1'
	t1=$(now_ms)
	row=$(admin retrying | head -1)
	assert_equal "$(field 1-4 "$row")" "$(host_prefix):1	f	2	2"
	assert_equal "$(field 6 "$row")" boom
	due=$(field 5 "$row")
	# Retry 2: twice the backoff, bounded by the maximum: 450 to 900 s.
	[ "$due" -ge $((t0 + 450000)) ] && [ "$due" -le $((t1 + 900000)) ]

	run gm-admin retry "$(host_prefix):1"
	assert_success
	assert_output 'retried 1'
	run raw <<'EOF'
@2 REQ CAN_DO f
@2 POLL JOB_ASSIGN REQ GRAB_JOB
@2 CLOSE
EOF
	assert_success
	wait_until 10 eval '[ -n "$(failed_row "$PORT" f)" ]'
	row=$(failed_row "$PORT" f)
	assert_equal "$(field 1-5 "$row")" "$(host_prefix):1	f	u1	normal	3"
	assert_equal "$(field 8-9 "$row")" "9	worker lost"
	[ "$(field 6 "$row")" -lt "$(field 7 "$row")" ]
	run admin retrying
	assert_output '.'
	assert_equal "$(status_row f)" $'f\t0\t0\t0'
}

@test "under a retry policy, a job whose CAN_DO_TIMEOUT passes is retried, then failed with \"timed out\"" {
	gm_only
	# Without a policy it goes back to its queue at once, as in gearmand.
	server_start t --retries 1 --retry-backoff 100
	# The worker holds the job and stays connected past its deadlines.
	cat >"$BATS_TEST_TMPDIR/hold" <<'EOF'
REQ SUBMIT_JOB_BG slow "" x
WAIT 1
@2 REQ CAN_DO_TIMEOUT slow 1000
@2 REQ GRAB_JOB
@2 WAIT 1
@2 POLL JOB_ASSIGN REQ GRAB_JOB
@2 WAIT 1
EOF
	spawn "$GM_BUILD/tests/tools/gmraw" -p "$PORT" -t 30000 \
	    "$BATS_TEST_TMPDIR/hold"
	wait_until 10 eval '[ -n "$(failed_row "$PORT" slow)" ]'
	row=$(failed_row "$PORT" slow)
	assert_equal "$(field 5 "$row")" 2
	assert_equal "$(field 9 "$row")" "timed out (CAN_DO_TIMEOUT)"
}

@test "-j: a background job out of attempts goes to the failed list, not away" {
	gm_only
	server_start j -j 1
	run raw <<'EOF'
REQ SUBMIT_JOB_BG g "" bg
WAIT 1
@2 REQ CAN_DO g
@2 REQ GRAB_JOB
@2 WAIT 1
@2 CLOSE
EOF
	assert_success
	wait_until 10 eval '[ -n "$(failed_row "$PORT" g)" ]'
	row=$(failed_row "$PORT" g)
	assert_equal "$(field 9 "$row")" \
	    "retries exhausted after 1 attempt (last: worker lost)"
}

@test "the failed list, waiting retries and policies survive SIGKILL, payloads byte for byte" {
	gm_only
	JOURNAL_k=$BATS_TEST_TMPDIR/journal
	server_start k
	run gm-admin retries fb 3 60000
	assert_success
	assert_output ''
	run raw <<'EOF'
REQ SUBMIT_JOB_BG fa ua "\x00\x01bin\xff\n"
WAIT 1
REQ SUBMIT_JOB_BG fb ub "wait\x00me"
WAIT 1
@2 REQ CAN_DO fa
@2 REQ GRAB_JOB
@2 WAIT 1
@2 REQ WORK_FAIL %H
@2 REQ CAN_DO fb
@2 REQ GRAB_JOB
@2 WAIT 1
@2 REQ WORK_EXCEPTION %H "E\x001"
@2 REQ SUBMIT_JOB_BG zz "" barrier
@2 WAIT 1
EOF
	assert_success
	# zz's JOB_CREATED comes once its record is on disk, and the journal
	# writes in order: the failure records written before it are too.
	server_stop k KILL
	server_start k
	grep -q 'journal: 3 jobs restored' "$LOG_k"
	h1="$(host_prefix):1"
	run gm-admin failed payload "$h1"
	assert_success
	assert_equal "$(gm-admin failed payload "$h1" | od -An -tx1 | tr -s ' \n' ' ')" \
	    ' 00 01 62 69 6e ff 0a '
	run gm-admin --json failed
	assert_success
	assert_equal "$(jq -c '.[] | [.handle, .function, .unique, .priority, .tries, .bytes, .error]' <<<"$output")" \
	    "[\"$h1\",\"fa\",\"ua\",\"normal\",1,7,\"WORK_FAIL\"]"
	run admin retrying
	assert_equal "$(field 1-4 "${lines[0]}")" "$(host_prefix):2	fb	1	3"
	assert_equal "$(field 6 "${lines[0]}")" 'E\x001'
	run gm-admin --json retrying
	assert_equal "$(jq -r '.[0].error' <<<"$output" | od -An -c | tr -s ' ')" \
	    ' E \0 1 \n'
	run admin retries
	assert_line "$(printf 'function\tfb\t3\t60000\t3600000')"
	# Back to its queue under its handle and unique id, then done.
	run gm-admin retry "$h1"
	assert_success
	assert_output 'retried 1'
	run raw <<'EOF'
@2 REQ CAN_DO fa
@2 REQ GRAB_JOB_UNIQ
@2 WAIT 1
@2 REQ WORK_COMPLETE %H ok
@2 SYNC
EOF
	assert_output '@2 JOB_ASSIGN_UNIQ H:HOST:1 fa ua \0\x01bin\xff\n'
	# A clean stop: its end is on disk (a SIGKILL now may run it again).
	server_stop k
	server_start k
	run admin failed
	assert_output '.'
	run admin status
	assert_output $'fb\t1\t0\t0\nzz\t1\t0\t0\n.'
}

@test "the failed list is bounded by count and bytes: the oldest goes, logged and counted" {
	gm_only
	server_start c --job-handle-prefix T --failed-max 2
	server_start b --job-handle-prefix T --failed-max-bytes 64
	for p in "$PORT_c" "$PORT_b"; do
		fail_bg "$p" f 01234567890123456789 u1 u2 u3
		run admin "$p" 'failed list f'
		assert_equal "$(cut -f1 <<<"$output" | tr '\n' ' ')" 'T:2 T:3 . '
		run admin "$p" 'failed stats'
		assert_line "$(printf 'count\t2')"
		assert_line "$(printf 'bytes\t64')"
		assert_line "$(printf 'added\t3')"
		assert_line "$(printf 'evicted\t1')"
	done
	grep -qF 'failed list full (3 jobs, 96 bytes): job T:1 (function f, 20 bytes) evicted' "$LOG_c"
	grep -qF 'failed list full (3 jobs, 96 bytes): job T:1 (function f, 20 bytes) evicted' "$LOG_b"
}

@test "gm-admin failed, retry and purge: table, --json, --raw" {
	gm_only
	server_start a --job-handle-prefix T
	raw <<'EOF' >/dev/null
REQ SUBMIT_JOB_BG f1 a x1
REQ SUBMIT_JOB_HIGH_BG f1 b x2
REQ SUBMIT_JOB_LOW_BG f2 "" "x 3"
WAIT 3
@2 REQ CAN_DO f1
@2 REQ CAN_DO f2
@2 REQ GRAB_JOB
@2 WAIT 1
@2 REQ WORK_WARNING %H "line one\nline two"
@2 REQ WORK_FAIL %H
@2 REQ GRAB_JOB
@2 WAIT 1
@2 REQ WORK_EXCEPTION %H ""
@2 REQ GRAB_JOB
@2 WAIT 1
@2 REQ WORK_FAIL %H
@2 SYNC
EOF
	run gm-admin failed
	assert_success
	dates='s/[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}/YYYY-MM-DD hh:mm:ss/g'
	assert_equal "$(sed -E "$dates" <<<"$output")" \
"HANDLE  FUNCTION  UNIQUE  PRIORITY  TRIES  FIRST-FAILURE        LAST-FAILURE         BYTES  ERROR
T:2     f1        b       high          1  YYYY-MM-DD hh:mm:ss  YYYY-MM-DD hh:mm:ss      2  line one\\x0aline two
T:1     f1        a       normal        1  YYYY-MM-DD hh:mm:ss  YYYY-MM-DD hh:mm:ss      2  WORK_EXCEPTION
T:3     f2                low           1  YYYY-MM-DD hh:mm:ss  YYYY-MM-DD hh:mm:ss      3  WORK_FAIL"
	run gm-admin --json failed f1
	assert_equal "$(jq -c '[.[] | .error]' <<<"$output")" \
	    '["line one\nline two","WORK_EXCEPTION"]'
	run gm-admin --raw failed f2
	assert_output --regexp $'^T:3\tf2\t\tlow\t1\t[0-9]+\t[0-9]+\t3\tWORK_FAIL\n\\.$'
	run gm-admin failed show T:3
	assert_success
	assert_line --regexp '^data +x 3$'
	run gm-admin failed show T:9
	assert_failure 1
	assert_output --partial 'T:9: no server has this job in its failed list'
	run gm-admin purge T:3
	assert_output 'purged 1'
	run gm-admin purge T:3
	assert_failure 1
	assert_output --partial 'UNKNOWN_JOB'
	run gm-admin retry function f1
	assert_output 'retried 2'
	run admin prioritystatus
	assert_output $'f1\t1\t1\t0\t0\nf2\t0\t0\t0\t0\n.'
	run gm-admin --json purge all
	assert_equal "$(jq -c '.[0].purged' <<<"$output")" 0
	run gm-admin failed stats
	assert_line --regexp '^retried +2$'
	assert_line --regexp '^purged +1$'
}

@test "gm-admin retries: the server default, a function's own policy, back to the default" {
	gm_only
	JOURNAL_p=$BATS_TEST_TMPDIR/journal
	server_start p --retries 1 --retry-backoff 50
	run gm-admin retries f 4 100 2000
	assert_success
	run gm-admin retries
	assert_output "POLICY    FUNCTION  RETRIES  BACKOFF-MS  MAX-DELAY-MS
server                    1          50       3600000
function  f               4         100          2000"
	run gm-admin retries f x
	assert_failure 2
	run admin 'retries f 1 500 100'
	assert_output $'ERR INVALID_ARGUMENTS the+maximum+delay+is+below+the+backoff\r'
	server_stop p
	server_start p
	run gm-admin --json retries f
	assert_equal "$(jq -c '.[] | [.policy, .retries, .backoff_ms]' <<<"$output")" \
	    '["function",4,100]'
	run gm-admin retries f default
	assert_success
	run gm-admin --raw retries
	assert_output $'server\t\t0\t1000\t3600000\ndefault\tf\t0\t1000\t3600000\n.'
}

@test "WORK_FAIL after WORK_EXCEPTION for the same job: gm takes it silently, gearmand answers ERROR" {
	server_start e
	run raw <<'EOF'
REQ SUBMIT_JOB f "" x
WAIT 1
@2 REQ CAN_DO f
@2 REQ GRAB_JOB
@2 WAIT 1
@2 REQ WORK_EXCEPTION %H oops
@2 REQ WORK_FAIL %H
@2 SYNC
WAIT 1
@2 REQ WORK_FAIL %H
@2 WAIT 1
EOF
	assert_success
	if is_gm; then
		# Only the first one: a second WORK_FAIL is an error again.
		assert_output 'JOB_CREATED H:HOST:1
@2 JOB_ASSIGN H:HOST:1 f x
WORK_FAIL H:HOST:1
@2 ERROR JOB_NOT_FOUND "Job given in work result not found"'
	else
		assert_output 'JOB_CREATED H:HOST:1
@2 JOB_ASSIGN H:HOST:1 f x
@2 ERROR JOB_NOT_FOUND "Job given in work result not found"
WORK_FAIL H:HOST:1\0
@2 ERROR JOB_NOT_FOUND "Job given in work result not found"'
	fi
}

@test "gm-submit --status: how a job is or ended on gm-server; GET_STATUS on gearmand" {
	if is_gm; then
		server_start f --retries 1 --retry-backoff 60000
	else
		server_start f
	fi
	h1=$(echo x | gm-submit -b -f nobody)
	run gm-submit --status "$h1"
	assert_success
	assert_output "$h1: queued"
	spawn gm-work -c 1 -f ok -- cat
	h2=$(echo x | gm-submit -b -f ok)
	wait_status ok '0 0 0'
	run gm-submit --status "$h2"
	if is_gm; then
		assert_success
		assert_output --regexp "^$h2: done at [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}\$"
	else
		# gearmand forgets a job as soon as it ends.
		assert_failure 1
		assert_output "$h2: unknown"
	fi
	is_gm || return 0
	spawn gm-work -c 2 -f bad -- sh -c 'echo "no $(cat)" >&2; exit 2'
	h3=$(echo x | gm-submit -b -f bad)
	wait_until 10 eval '[ -n "$(admin retrying | grep -v "^\.$")" ]'
	run gm-submit --status "$h3"
	assert_success
	assert_output --regexp "^$h3: failed 1 time, retry 1 of 1 at [0-9-]{10} [0-9:]{8}: no x\\\\x0agm-work: sh: exited with status 2\\\\x0a\$"
	run gm-admin retries bad 0
	h4=$(echo y | gm-submit -b -f bad)
	wait_until 10 eval '[ -n "$(failed_row "$PORT" bad)" ]'
	run gm-submit --status "$h4"
	assert_failure 1
	assert_output --regexp "^$h4: failed at [0-9-]{10} [0-9:]{8} after 1 try: no y\\\\x0agm-work: sh: exited with status 2\\\\x0a \\(in the failed list\\)\$"
	run gm-admin purge "$h4"
	run gm-submit --status "$h4"
	assert_failure 1
	assert_output --regexp "^$h4: purged at "
	run gm-submit --status "$(host_prefix):999"
	assert_failure 1
	assert_output "$(host_prefix):999: unknown"
}

@test "gm-submit names each failed job (line, handle, worker's error) and sums them up" {
	server_start n
	spawn gm-work -f odd -- sh -c 'n=$(cat); [ $((n % 2)) = 0 ] || { echo "odd $n" >&2; exit 3; }; echo $n'
	wait_workers odd 1
	run --separate-stderr gm-submit -n -f odd < <(seq 4)
	assert_failure 1
	assert_output $'2\n4'
	h=$(host_prefix)
	assert_equal "$(grep 'gm-submit' <<<"$stderr" | sed -E "s/$h:[0-9]+/H/")" \
"gm-submit: odd: line 1: job H failed: gm-work: sh: exited with status 3
gm-submit: odd: line 3: job H failed: gm-work: sh: exited with status 3
gm-submit: 2 of 4 jobs failed"
	run --separate-stderr gm-submit -v -f odd 2 5
	assert_failure 1
	assert_output '2'
	assert_equal "$(grep 'failed' <<<"$stderr" | sed -E "s/$h:[0-9]+/H/")" \
"gm-submit: odd: argument 2: job H failed: gm-work: sh: exited with status 3 on 127.0.0.1:$PORT
gm-submit: 1 of 2 jobs failed"
}
