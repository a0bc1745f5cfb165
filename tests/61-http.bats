#!/usr/bin/env bats
# HTTP: gearmand-style POST submission (both targets), the status page,
# /metrics (promtool and a real Prometheus), the admin views as JSON, the
# admin `stats` counters, HTTP on the Gearman port, who may change state,
# and bad HTTP input while others keep being served.  gearmand 1.1.20 has
# the submission protocol only; where gm goes further the test says what
# gearmand does instead.

bats_require_minimum_version 1.5.0
load helper

# The test output folder: screenshots for people to look at.
OUT_DIR=${GM_TEST_OUT:-$BATS_TEST_DIRNAME/output}/61-http

setup_file() {
	port_hold
	HTTP=$HELD_PORT
	# gearmand's own options: gm-server takes them too (loopback only).
	server_start a -r http --http-port "$HTTP"
	wait_until 20 port_open "$HTTP"
	export HTTP PORT LOG_a PID_a
}

teardown_file() {
	spawn_kill
	kill_started
}

teardown() {
	spawn_kill
}

# post PATH [CURL ARGS...]: POST to the HTTP port; prints the response
# headers (CRs removed) then the body.
post() {
	local path=$1
	shift
	curl -s -i -X POST --max-time 20 "$@" "http://127.0.0.1:$HTTP$path" |
	    tr -d '\r'
}

# code PATH [CURL ARGS...]: the status code of a request.
code() {
	local path=$1
	shift
	curl -s -o /dev/null -w '%{http_code}' --max-time 20 "$@" \
	    "http://127.0.0.1:$HTTP$path"
}

# worker FUNC COUNT CMD...: a gm-work worker for COUNT jobs.
worker() {
	local f=$1 n=$2
	shift 2
	spawn gm-work -h "127.0.0.1:$PORT" -f "$f" -c "$n" -- "$@"
	wait_workers "$f" 1
}

@test "POST background: 200, the handle in X-Gearman-Job-Handle, the job queued" {
	run post /bg1 -H 'X-Gearman-Background: true' --data-binary 'hello'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "HTTP/1.1 200 OK" ] || [ "${lines[0]}" = "HTTP/1.0 200 OK" ]
	assert_line "X-Gearman-Job-Handle: $(host_prefix):1"
	assert_line "X-Gearman-Command: JOB_CREATED"
	[ "$(status_row bg1)" = "$(printf 'bg1\t1\t0\t0')" ]
}

@test "X-Gearman-Background takes true (gm also 1 and yes; gearmand waits for those)" {
	gm_only "gearmand takes only \"true\" and runs the others in the foreground"
	[ "$(code /bgyes -X POST -H 'X-Gearman-Background: 1' -d a)" = 200 ]
	[ "$(code /bgyes -X POST -H 'X-Gearman-Background: yes' -d a)" = 200 ]
	[ "$(status_row bgyes | cut -f2)" = 2 ]
}

@test "POST priorities go to their queues; a shared unique coalesces onto one job" {
	post /prio -H 'X-Gearman-Background: true' -H 'X-Gearman-Priority: high' -d a >/dev/null
	post /prio -H 'X-Gearman-Background: true' -H 'X-Gearman-Priority: low' -d b >/dev/null
	post /prio -H 'X-Gearman-Background: true' -H 'X-Gearman-Priority: low' -d c >/dev/null
	run admin prioritystatus
	assert_line "$(printf 'prio\t1\t0\t2\t0')"
	h1=$(post /uq -H 'X-Gearman-Background: true' -H 'X-Gearman-Unique: u-1' -d x | grep '^X-Gearman-Job-Handle')
	h2=$(post /uq -H 'X-Gearman-Background: true' -H 'X-Gearman-Unique: u-1' -d y | grep '^X-Gearman-Job-Handle')
	[ -n "$h1" ]
	[ "$h1" = "$h2" ]
	[ "$(status_row uq)" = "$(printf 'uq\t1\t0\t0')" ]
}

@test "POST foreground: the result is the body, binary payloads byte for byte" {
	head -c 200000 /dev/urandom >"$BATS_TEST_TMPDIR/in"
	printf '\0\r\n\377' >>"$BATS_TEST_TMPDIR/in"
	worker cat 2 cat
	curl -s -X POST --max-time 20 --data-binary @"$BATS_TEST_TMPDIR/in" \
	    -D "$BATS_TEST_TMPDIR/hdr" -o "$BATS_TEST_TMPDIR/out" \
	    "http://127.0.0.1:$HTTP/cat"
	cmp "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/out"
	grep -q '^X-Gearman-Command: WORK_COMPLETE' "$BATS_TEST_TMPDIR/hdr"
	# An empty body is an empty payload, and an empty result.
	run code /cat --data-binary ''
	[ "$output" = 200 ]
}

@test "keep-alive: two POSTs on one connection" {
	worker ka 2 cat
	run curl -s --max-time 20 -o /dev/null -o /dev/null \
	    -w '%{num_connects}:%{http_code}\n' \
	    -X POST -d one "http://127.0.0.1:$HTTP/ka" \
	    -X POST -d two "http://127.0.0.1:$HTTP/ka"
	[ "${lines[0]}" = "1:200" ]
	if is_gearmand; then
		# gearmand answers HTTP/1.0 and closes after each reply.
		[ "${lines[1]}" = "1:200" ]
		return
	fi
	[ "${lines[1]}" = "0:200" ]
}

@test "a failed job is a 500, an exception a 500 with its text (gearmand: 200)" {
	spawn gm-work -h "127.0.0.1:$PORT" -f bad -c 1 -- false
	wait_workers bad 1
	run post /bad -d x
	if is_gearmand; then
		# gearmand answers 200 whatever the job's fate.
		[ "${lines[0]}" = "HTTP/1.0 200 OK" ]
		return
	fi
	[ "${lines[0]}" = "HTTP/1.1 500 Job Failed" ]
	assert_line "X-Gearman-Command: WORK_FAIL"
	spawn gm-work -h "127.0.0.1:$PORT" -x -f exc -c 1 -- sh -c 'echo broken >&2; exit 3'
	wait_workers exc 1
	run post /exc -d x
	[ "${lines[0]}" = "HTTP/1.1 500 Job Failed" ]
	assert_line "X-Gearman-Command: WORK_EXCEPTION"
	assert_line --partial "broken"
}

@test "queue full is a 503, X-Gearman-Timeout a 504, a body over --max-packet a 413" {
	gm_only "gearmand's HTTP module has no status codes for these"
	admin "create function full" >/dev/null
	admin "maxqueue full 1" >/dev/null
	[ "$(code /full -H 'X-Gearman-Background: true' -d a)" = 200 ]
	run post /full -H 'X-Gearman-Background: true' -d b
	[ "${lines[0]}" = "HTTP/1.1 503 Service Unavailable" ]
	assert_line "QUEUE_ERROR: Job queue is full"
	run post /slow -H 'X-Gearman-Timeout: 200' -d a
	[ "${lines[0]}" = "HTTP/1.1 504 Gateway Timeout" ]
	# The job the client gave up on is gone with it.
	wait_until 10 eval '[ -z "$(status_row slow | awk -F "\t" "\$2 != 0")" ]'
	server_start small --http "127.0.0.1:0" --max-packet 1K
	wait_until 10 grep -q 'http: listening on' "$LOG_small"
	hp=$(sed -n 's/.*http: listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$LOG_small")
	head -c 2000 /dev/zero >"$BATS_TEST_TMPDIR/big"
	run curl -s -o /dev/null -w '%{http_code}' -X POST \
	    --data-binary @"$BATS_TEST_TMPDIR/big" "http://127.0.0.1:$hp/f"
	[ "$output" = 413 ]
	# Function name and payload together over the limit: 413 as well.
	head -c 1020 /dev/zero >"$BATS_TEST_TMPDIR/big"
	run curl -s -o /dev/null -w '%{http_code}' -X POST \
	    --data-binary @"$BATS_TEST_TMPDIR/big" "http://127.0.0.1:$hp/fff"
	[ "$output" = 413 ]
	server_stop small
}

@test "a client that leaves takes its queued foreground job with it" {
	gm_only "gearmand keeps the job"
	run curl -s --max-time 1 -X POST -d a "http://127.0.0.1:$HTTP/gone"
	[ "$status" -eq 28 ]
	wait_until 10 eval '[ "$(status_row gone | cut -f2)" = 0 ]'
}

@test "HTTP on the Gearman port: a redirect to the HTTP port, at once" {
	run curl -s -i --max-time 5 "http://127.0.0.1:$PORT/api/status"
	if is_gearmand; then
		# gearmand takes it for admin text: no HTTP answer at all.
		[ "$status" -ne 0 ]
		return
	fi
	[ "$status" -eq 0 ]
	assert_line "HTTP/1.0 307 Temporary Redirect"$'\r'
	assert_line "Location: http://127.0.0.1:$HTTP/api/status"$'\r'
	run curl -s -L --max-time 5 "http://127.0.0.1:$PORT/api/status"
	[ "$status" -eq 0 ]
	[[ "$output" == "["* ]]
	# With HTTP off, a clear error naming the option.
	server_start nohttp
	run curl -s -i --max-time 5 "http://127.0.0.1:$PORT_nohttp/"
	[ "$status" -eq 0 ]
	assert_line "HTTP/1.0 400 Bad Request"$'\r'
	assert_line --partial "start gm-server with --http [address:]port"
	# The admin protocol still works on that port.
	run admin "$PORT_nohttp" version
	[[ "$output" == "OK "* ]]
	server_stop nohttp
}

# The known state of the next tests: function "known" got 4 jobs, 2 were
# done, 1 failed, 1 is still queued.
known_state() {
	[ "$(status_row known | cut -f2)" = 1 ] && return 0
	for p in ok1 ok2 fail; do
		post /known -H 'X-Gearman-Background: true' -d "$p" >/dev/null
	done
	spawn gm-work -h "127.0.0.1:$PORT" -f known -c 3 -- grep -q ok
	wait_until 20 eval '[ "$(status_row known | cut -f2)" = 0 ]'
	post /known -H 'X-Gearman-Background: true' -d later >/dev/null
	[ "$(status_row known | cut -f2)" = 1 ]
}

@test "admin stats and gm-admin stats count jobs by outcome" {
	gm_only "gearmand has no stats command"
	known_state
	run admin stats
	assert_line "$(printf 'known\t4\t2\t1\t0\t0\t0')"
	run gm-admin -h "127.0.0.1:$PORT" stats
	assert_line --regexp '^FUNCTION +SUBMITTED +COMPLETED +FAILED +EXCEPTIONS +RETRIED +CANCELLED$'
	assert_line --regexp '^known +4 +2 +1 +0 +0 +0$'
	run gm-admin -h "127.0.0.1:$PORT" --json stats
	assert_line "  {\"server\": \"127.0.0.1:$PORT\", \"function\": \"known\", \"submitted\": 4, \"completed\": 2, \"failed\": 1, \"exceptions\": 0, \"retried\": 0, \"cancelled\": 0},"
}

@test "JSON views: the same documents as gm-admin --json" {
	gm_only "gearmand has no JSON"
	known_state
	for v in status priority-status jobs unique-jobs journal stats; do
		curl -s --max-time 10 "http://127.0.0.1:$HTTP/api/$v" >"$BATS_TEST_TMPDIR/http"
		gm-admin -h "127.0.0.1:$PORT" --json "$v" >"$BATS_TEST_TMPDIR/admin"
		diff -u "$BATS_TEST_TMPDIR/admin" "$BATS_TEST_TMPDIR/http"
	done
	run curl -s -i --max-time 10 "http://127.0.0.1:$HTTP/api/stats"
	assert_line "Content-Type: application/json"$'\r'
	assert_line "  {\"server\": \"127.0.0.1:$PORT\", \"function\": \"known\", \"submitted\": 4, \"completed\": 2, \"failed\": 1, \"exceptions\": 0, \"retried\": 0, \"cancelled\": 0},"
	[ "$(code /api/nosuch)" = 404 ]
}

@test "/api/members: the members of every function, as gm-admin --json members; linked from the page" {
	gm_only "gearmand has no broadcast members"
	spawn gm-work -h "127.0.0.1:$PORT" --id web7 -f mem1 -f mem2 -- cat
	wait_workers mem2 1
	curl -s --max-time 10 "http://127.0.0.1:$HTTP/api/members" >"$BATS_TEST_TMPDIR/http"
	gm-admin -h "127.0.0.1:$PORT" --json members >"$BATS_TEST_TMPDIR/admin"
	# Workers of other tests may still be leaving: compare web7's rows.
	diff -u <(grep '"member": "web7"' "$BATS_TEST_TMPDIR/admin") \
	    <(grep '"member": "web7"' "$BATS_TEST_TMPDIR/http")
	run grep '"member": "web7"' "$BATS_TEST_TMPDIR/http"
	assert_output --regexp "^  \{\"server\": \"127\.0\.0\.1:$PORT\", \"member\": \"web7\", \"fd\": [0-9]+, \"address\": \"127\.0\.0\.1\", \"function\": \"mem1\"\},
  \{\"server\": \"127\.0\.0\.1:$PORT\", \"member\": \"web7\", \"fd\": [0-9]+, \"address\": \"127\.0\.0\.1\", \"function\": \"mem2\"\},?$"
	run curl -s --max-time 10 "http://127.0.0.1:$HTTP/"
	assert_output --partial '<a href="/api/workers">workers</a> <a href="/api/members">members</a> <a href="/api/jobs">jobs</a>'
}

@test "/metrics: exact lines for the known state, and promtool check metrics passes" {
	gm_only "gearmand has no metrics"
	known_state
	curl -s --max-time 10 "http://127.0.0.1:$HTTP/metrics" >"$BATS_TEST_TMPDIR/m"
	run cat "$BATS_TEST_TMPDIR/m"
	assert_line 'gm_jobs_submitted_total{function="known"} 4'
	assert_line 'gm_jobs_completed_total{function="known"} 2'
	assert_line 'gm_jobs_failed_total{function="known"} 1'
	assert_line 'gm_jobs_queued{function="known",priority="normal"} 1'
	assert_line 'gm_jobs_running{function="known"} 0'
	assert_line 'gm_job_run_seconds_count{function="known"} 3'
	assert_line 'gm_job_run_seconds_bucket{function="known",le="+Inf"} 3'
	assert_line 'gm_job_queue_wait_seconds_count{function="known"} 3'
	assert_line 'gm_journal_enabled 0'
	assert_line 'gm_journal_flush_seconds_count 0'
	assert_line --regexp '^process_resident_memory_bytes [1-9][0-9]*$'
	assert_line --regexp '^process_open_fds [1-9][0-9]*$'
	run promtool check metrics <"$BATS_TEST_TMPDIR/m"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "/metrics: the failed list's gauges and evictions, exact, for a known failed state" {
	gm_only "gearmand has no failed list"
	local hp
	port_hold
	hp=$HELD_PORT
	JOURNAL_fm=$BATS_TEST_TMPDIR/journal server_start fm --job-handle-prefix T \
	    --failed-max 2 --http "127.0.0.1:$hp"
	wait_until 20 port_open "$hp"
	[ "$(admin "$PORT_fm" 'retries g 1 60000')" = $'OK\r' ]
	# f: three jobs of 20 bytes fail, the list keeps two (one evicted);
	# g: one fails and waits 60 s for its retry.
	fail_bg "$PORT_fm" f 01234567890123456789 u1 u2 u3
	fail_bg "$PORT_fm" g x u4
	curl -s --max-time 10 "http://127.0.0.1:$hp/metrics" >"$BATS_TEST_TMPDIR/m"
	run cat "$BATS_TEST_TMPDIR/m"
	assert_line 'gm_failed_jobs 2'
	assert_line 'gm_failed_jobs_bytes 64'
	assert_line 'gm_failed_jobs_evicted_total 1'
	assert_line 'gm_jobs_retrying 1'
	assert_line '# TYPE gm_failed_jobs_evicted_total counter'
	assert_line 'gm_jobs_failed_total{function="f"} 3'
	# Journal flushes, as a histogram: as many as the flush counter.
	n=$(sed -n 's/^gm_journal_flushes_total //p' "$BATS_TEST_TMPDIR/m")
	[ "$n" -gt 0 ]
	assert_line '# TYPE gm_journal_flush_seconds histogram'
	assert_line "gm_journal_flush_seconds_count $n"
	assert_line "gm_journal_flush_seconds_bucket{le=\"+Inf\"} $n"
	assert_line --regexp '^gm_journal_flush_seconds_bucket\{le="0\.0001"\} [0-9]+$'
	assert_line --regexp '^gm_journal_flush_seconds_sum [0-9]+\.[0-9]{6}$'
	run promtool check metrics <"$BATS_TEST_TMPDIR/m"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	# The page says the same.
	run curl -s --max-time 10 "http://127.0.0.1:$hp/"
	assert_output --partial '<span data-x="count">2</span> in the list (<span data-x="bytes">64</span> bytes), <span data-x="retrying">1</span> waiting for a retry, <span data-x="evicted">1</span> evicted since start'
	server_stop fm
}

@test "a real Prometheus scrapes gm-server and answers a gm metric" {
	gm_only "gearmand has no metrics"
	command -v prometheus >/dev/null || skip "prometheus is not installed"
	known_state
	local dir=$BATS_TEST_TMPDIR/prom pp
	mkdir -p "$dir/data"
	port_hold
	pp=$HELD_PORT
	cat >"$dir/prometheus.yml" <<-EOF
	global:
	  scrape_interval: 1s
	scrape_configs:
	  - job_name: gm
	    static_configs:
	      - targets: ['127.0.0.1:$HTTP']
	EOF
	spawn prometheus --config.file="$dir/prometheus.yml" \
	    --storage.tsdb.path="$dir/data" \
	    --web.listen-address="127.0.0.1:$pp" >"$dir/log" 2>&1
	query() {
		curl -s --max-time 5 "http://127.0.0.1:$pp/api/v1/query" \
		    --data-urlencode 'query=gm_jobs_completed_total{function="known"}'
	}
	if ! wait_until 90 eval 'query | grep -q "\"value\":\[[0-9.]*,\"2\"\]"'; then
		cat "$dir/log"
		query
		false
	fi
	run query
	[[ "$output" == *'"job":"gm"'* ]]
}

# page_agrees DOM ADMIN-COMMAND KEY...: for every line of an admin list,
# the page's cell data-f=FUNCTION data-c=KEY holds the same number.
page_agrees() {
	local dom=$1 cmd=$2 f got i n=0
	local -a keys row
	shift 2
	keys=("$@")
	while IFS=$'\t' read -r -a row; do
		f=${row[0]}
		for i in "${!keys[@]}"; do
			got=$(grep -o "data-f=\"$f\" data-c=\"${keys[i]}\">[0-9]*<" "$dom" |
			    sed 's/.*>\([0-9]*\)</\1/')
			if [ "$got" != "${row[i + 1]}" ]; then
				echo "$dom: $f ${keys[i]}: page '$got', admin '${row[i + 1]}'"
				return 1
			fi
			n=$((n + 1))
		done
	done < <(admin "$cmd" | sed '$d')
	[ "$n" -gt 0 ]
}

@test "the status page in headless Chromium, at desktop and phone widths" {
	gm_only "gearmand has no status page"
	command -v chromium >/dev/null || skip "chromium is not installed"
	known_state
	# A running job that reported 3 of 4 steps (WORK_STATUS), running
	# until the end of the test however long four Chromium runs take on
	# a loaded machine (SIGINT to its worker ends it).
	worker pg 1 sh -c 'echo "3 4" >&3; sleep 600'
	local pgw=$SPAWNED
	h=$(post /pg -H 'X-Gearman-Background: true' -d x | sed -n 's/^X-Gearman-Job-Handle: //p')
	wait_until 10 eval '[ "$(status_row pg | cut -f3)" = 1 ]'
	wait_until 10 eval 'gm-submit -h "127.0.0.1:$PORT" --status "$h" 2>&1 | grep -q 3/4'
	mkdir -p "$OUT_DIR"
	local w
	for w in 1280,900 390,844; do
		name=desktop
		[ "$w" = 1280,900 ] || name=phone
		chrome() {
			timeout 120 chromium --headless --no-sandbox --disable-gpu \
			    --disable-dev-shm-usage --no-first-run \
			    --user-data-dir="$BATS_TEST_TMPDIR/chrome-$name" \
			    --window-size="$w" "$@" "http://127.0.0.1:$HTTP/" \
			    2>>"$BATS_TEST_TMPDIR/chrome.err"
		}
		chrome --dump-dom >"$BATS_TEST_TMPDIR/dom-$name"
		chrome --screenshot="$OUT_DIR/page-$name.png" >/dev/null
		[ -s "$OUT_DIR/page-$name.png" ]
		# Every number of the page's function table against admin.
		page_agrees "$BATS_TEST_TMPDIR/dom-$name" status total running workers
		page_agrees "$BATS_TEST_TMPDIR/dom-$name" prioritystatus high normal low workers
		page_agrees "$BATS_TEST_TMPDIR/dom-$name" stats submitted completed failed exceptions retried cancelled
		grep -q 'data-f="known" data-c="completed">2<' "$BATS_TEST_TMPDIR/dom-$name"
		grep -q 'data-f="known" data-c="failed">1<' "$BATS_TEST_TMPDIR/dom-$name"
		# The running job and its worker are listed.
		grep -q "<td data-label=\"Handle\">$h</td><td data-label=\"Function\">pg</td><td data-label=\"Worker\">" "$BATS_TEST_TMPDIR/dom-$name"
		grep -q 'aria-valuenow="75".*</span> 3/4</td>' "$BATS_TEST_TMPDIR/dom-$name"
		# The failed list: known's failed job with its buttons.
		grep -q "<span data-x=\"count\">$(admin 'failed stats' | sed -n 's/^count\t//p')</span> in the list" "$BATS_TEST_TMPDIR/dom-$name"
		fh=$(admin 'failed list known' | sed -n '1s/\t.*//p')
		[ -n "$fh" ]
		grep -q "<tr><td data-label=\"Function\">known</td><td data-label=\"Handle\">$fh</td><td class=\"n\" data-label=\"Tries\">1</td><td class=\"when\" data-label=\"Last failure\">[0-9-]\{10\} [0-9:]\{8\}</td><td class=\"err\" data-label=\"Error\">gm-work: grep: exited with status 1</td><td class=\"act\" data-label=\"\"><form method=\"post\" action=\"/api/failed/retry/${fh//:/%3A}\"><button class=\"retry\">Retry</button></form><form method=\"post\" action=\"/api/failed/purge/${fh//:/%3A}\"><button class=\"purge\">Purge</button></form></td></tr>" "$BATS_TEST_TMPDIR/dom-$name"
	done
	# Self-contained: no external assets.
	run grep -E '(src|href)="(https?:)?//' "$BATS_TEST_TMPDIR/dom-desktop"
	[ "$status" -eq 1 ]
	kill -INT "$pgw"
	wait_until 20 eval "! pid_alive $pgw"
}

# far_start NAME [SERVER ARGS...]: a server whose HTTP listens on this
# machine's own address that is not loopback (an untrusted peer); skips
# without one.  Sets ip, and FAR to the base URL.
far_start() {
	local name=$1 hp
	shift
	ip=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -m1 -E '^[0-9.]+$' || true)
	[ -n "$ip" ] || skip "no non-loopback IPv4 address to test from"
	port_hold
	hp=$HELD_PORT
	server_start "$name" --http "$ip:$hp" "$@"
	FAR="http://$ip:$hp"
}

# far_bg FUNC: submit a background job to FUNC over $FAR; prints its handle.
far_bg() {
	curl -s -i -X POST -H 'X-Gearman-Background: true' -d a "$FAR/$1" |
	    tr -d '\r' | sed -n 's/^X-Gearman-Job-Handle: //p'
}

# failed_count FUNC [PORT]: how many jobs of FUNC the failed list holds.
failed_count() {
	admin "${2:-$PORT}" "failed list $1" | sed '$d' | wc -l
}

@test "the failed list over HTTP: Retry and Purge for trusted peers (a form gets a 303), GET changes nothing" {
	gm_only "gearmand has no failed list"
	local -a h
	for p in one two; do
		h+=("$(post /fz -H 'X-Gearman-Background: true' -d "$p" | sed -n 's/^X-Gearman-Job-Handle: //p')")
	done
	spawn gm-work -h "127.0.0.1:$PORT" -f fz -c 2 -- sh -c 'echo "<b>bad</b> & \"co\"" >&2; exit 1'
	wait_until 20 eval '[ "$(failed_count fz)" = 2 ]'
	# The error text, escaped, a line break for each of its lines.
	run curl -s --max-time 10 "http://127.0.0.1:$HTTP/"
	assert_output --partial "<td data-label=\"Handle\">${h[0]}</td><td class=\"n\" data-label=\"Tries\">1</td>"
	assert_output --partial '<td class="err" data-label="Error">&lt;b&gt;bad&lt;/b&gt; &amp; &quot;co&quot;<br>gm-work: sh: exited with status 1</td>'
	# GET changes nothing.
	[ "$(code "/api/failed/retry/${h[0]}")" = 404 ]
	[ "$(code "/api/failed/purge/${h[0]}")" = 404 ]
	[ "$(failed_count fz)" = 2 ]
	# Retry: back in its queue, out of the list.
	run post "/api/failed/retry/${h[0]}"
	[ "${lines[0]}" = "HTTP/1.1 200 OK" ]
	[ "${lines[-1]}" = OK ]
	[ "$(failed_count fz)" = 1 ]
	[ "$(status_row fz | cut -f2)" = 1 ]
	[ "$(admin 'failed list fz' | sed -n '1s/\t.*//p')" = "${h[1]}" ]
	# Purge from the page's form (a browser asks for HTML): 303 to /.
	run post "/api/failed/purge/${h[1]//:/%3A}" -H 'Accept: text/html,*/*'
	[ "${lines[0]}" = "HTTP/1.1 303 See Other" ]
	assert_line "Location: /"
	[ "$(failed_count fz)" = 0 ]
	[ "$(status_row fz | cut -f2)" = 1 ]
	# Gone: a 404, as for a handle that never failed.
	[ "$(code "/api/failed/purge/${h[1]}" -X POST)" = 404 ]
	[ "$(code "/api/failed/retry/${h[1]}" -X POST)" = 404 ]
	[ "$(code "/api/failed/retry/H:none:1" -X POST)" = 404 ]
	[ "$(code "/api/failed/nosuch/${h[0]}" -X POST)" = 404 ]
	[ "$(code "/api/failed/retry/" -X POST)" = 400 ]
	# An untrusted peer gets a 403 and the job stays listed.
	far_start far
	fh=$(far_bg fy)
	[ -n "$fh" ]
	spawn gm-work -h "127.0.0.1:$PORT_far" -f fy -c 1 -- false
	wait_until 20 eval '[ "$(failed_count fy "$PORT_far")" = 1 ]'
	for a in retry purge; do
		run curl -s -o /dev/null -w '%{http_code}' -X POST "$FAR/api/failed/$a/$fh"
		[ "$output" = 403 ]
		grep -q "http: $ip:[0-9]*: POST /api/failed/$a/.*: 403 $a needs a trusted peer" "$LOG_far"
	done
	[ "$(failed_count fy "$PORT_far")" = 1 ]
	server_stop far
}

@test "GET never changes state; cancel needs an allowed peer" {
	gm_only "gearmand's HTTP module has no cancel"
	h=$(post /cx -H 'X-Gearman-Background: true' -d a | sed -n 's/^X-Gearman-Job-Handle: //p')
	[ "$(code "/api/cancel/$h")" = 404 ]
	[ "$(status_row cx | cut -f2)" = 1 ]
	# A peer that is not loopback: this machine's own address, if any.
	far_start far
	h=$(far_bg cy)
	[ -n "$h" ]
	run curl -s -o /dev/null -w '%{http_code}' -X POST "$FAR/api/cancel/$h"
	[ "$output" = 403 ]
	grep -q "http: $ip:[0-9]*: POST /api/cancel/.*: 403 cancel needs a trusted peer" "$LOG_far"
	[ "$(status_row cy "$PORT_far" | cut -f2)" = 1 ]
	server_stop far
	far_start far2 --admin-allow "$ip/32"
	h=$(far_bg cy)
	run curl -s -X POST "$FAR/api/cancel/$h"
	[ "$output" = OK ]
	[ "$(status_row cy "$PORT_far2" | cut -f2)" = 0 ]
	server_stop far2
	# From loopback, cancel works; an unknown handle is a 404.
	h=$(post /cx -H 'X-Gearman-Background: true' -d b | sed -n 's/^X-Gearman-Job-Handle: //p')
	[ "$(code "/api/cancel/$h" -X POST)" = 200 ]
	[ "$(code "/api/cancel/H:none:1" -X POST)" = 404 ]
	run admin stats
	assert_line --regexp "^cx	2	0	0	0	0	1$"
}

@test "bad HTTP input gets a 4xx while others keep being served" {
	# Garbage, a header over 16 KiB, a bad priority.
	run sh -c "printf 'garbage\r\n\r\n' | nc -q 2 127.0.0.1 $HTTP | head -1"
	if is_gearmand; then
		# gearmand closes without an answer.
		[ -z "$output" ]
	else
		[[ "$output" == "HTTP/1.1 400 "* ]]
	fi
	big=$(head -c 20000 /dev/zero | tr '\0' a)
	run code /x -X POST -H "X-Big: $big" -H 'X-Gearman-Background: true' -d a
	# gearmand takes the job whatever the headers' size.
	is_gearmand || [[ "$output" == 4?? ]]
	# Slow clients: half a request line, and headers without an end.
	exec 5<>"/dev/tcp/127.0.0.1/$HTTP"
	printf 'POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab' >&5
	exec 6<>"/dev/tcp/127.0.0.1/$HTTP"
	printf 'GET / HT' >&6
	run code /api/status
	if is_gm; then
		[ "$output" = 200 ]
		run code /x -X POST -H 'X-Gearman-Priority: urgent' -d a
		[ "$output" = 400 ]
		grep -q 'http: 127.0.0.1:[0-9]*: POST /x: 400 X-Gearman-Priority is high, normal or low' "$LOG_a"
		run code /x -X PUT
		[[ "$output" == [45]?? ]]
	fi
	[ "$(code /bgok -H 'X-Gearman-Background: true' -X POST -d a)" = 200 ]
	exec 5>&- 6>&-
	[ "$(code /bgok -H 'X-Gearman-Background: true' -X POST -d b)" = 200 ]
	[ "$(status_row bgok | cut -f2)" = 2 ]
	pid_alive "$PID_a"
}
