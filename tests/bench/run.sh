#!/usr/bin/env bash
# make bench: gm-server against gearmand 1.1.20 on this machine, side by
# side.  Every scenario runs against gm-server (A) and gearmand (B) in
# turn, A B A B, for BENCH_ROUNDS rounds (default 3); the table of medians,
# min-max and A/B ratios goes to stdout and to tests/bench/results.txt.
# Progress goes to stderr.  Exits non-zero when a scenario errored (a
# missed target is not an error).  Kills only the processes it started.
#
# BENCH_ROUNDS=N      rounds (default 3)
# BENCH_QUICK=1       small counts (a smoke run of this script, minutes -> s)
# BENCH_ONLY="..."    groups to run: basic fifo mem scale conns tools journal
#                     tls bcast
set -u
cd "$(dirname "$0")/../.."
top=$PWD
gen=$top/build/tests/bench/gmbench
gmserver=$top/build/bin/gm-server
gmsubmit=$top/build/bin/gm-submit
gmwork=$top/build/bin/gm-work
fifo=$top/build/tests/bench/fifo
gearmand=${GEARMAND:-/usr/sbin/gearmand}
rounds=${BENCH_ROUNDS:-3}
only=${BENCH_ONLY:-basic fifo mem scale conns tools journal tls bcast}
out=$top/tests/bench/results.txt
unset GEARMAN_SERVER

# Job counts (payload 100 bytes throughout).
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	n_bg=20000 n_lat=1000 n_fg=10000 n_mem=50000 n_pre=1000 n_scale=10000
	n_conns=1000 n_tool=500 n_sql=300 n_tune=10000
else
	n_bg=200000 n_lat=10000 n_fg=100000 n_mem=1000000 n_pre=10000
	n_scale=100000 n_conns=10000 n_tool=10000 n_sql=100000 n_tune=50000
fi
buckets=1000003		# gearmand --hashtable-buckets when large

work=$(mktemp -d /tmp/gm-bench.XXXXXX)
vals=$work/values	# lines: KEY ROUND VALUE
: >"$vals"
pids=()			# everything we started, for cleanup
notes=()
errors=()
round=0
spid= sport= stgt=

say() { printf '[%3ds] %s\n' "$SECONDS" "$*" >&2; }

# ours PID: PID is still a running child of this script (not a number
# reused by someone else, not a zombie).
ours() {
	local st
	st=$(ps -o ppid=,stat= -p "$1" 2>/dev/null) || return 1
	set -- $st
	[ "$1" = "$$" ] && [ "${2#Z}" = "$2" ]
}

# Kill what we started and is still running (TERM, then KILL after a
# grace period).
cleanup() {
	local p i
	for p in "${pids[@]}"; do
		ours "$p" && kill -TERM "$p" 2>/dev/null
	done
	for p in "${pids[@]}"; do
		for i in $(seq 50); do
			ours "$p" || break
			sleep 0.1
		done
		ours "$p" && kill -KILL "$p" 2>/dev/null
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Descriptors: 10,000 idle connections need that many on both sides.
nofile=$(ulimit -Hn)
[ "$nofile" = unlimited ] && nofile=1048576
[ "$nofile" -gt 65536 ] && nofile=65536
ulimit -n "$nofile" 2>/dev/null || nofile=$(ulimit -n)
if [ "$n_conns" -gt $((nofile - 200)) ]; then
	notes+=("descriptor limit $nofile: idle connections reduced from\
 $n_conns to $((nofile - 200))")
	n_conns=$((nofile - 200))
fi

# Record one measured value for the current round.
rec() {
	[ -n "$2" ] && echo "$1 $round $2" >>"$vals"
}

# Note an error of the current scenario (makes the run fail).
fail() {
	errors+=("round $round: $*")
	say "ERROR: $*"
}

port_open() {
	(exec 9<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# wait_for SECONDS COMMAND...: poll until COMMAND succeeds.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.02
	done
}

# start TARGET [ARGS]: start gm-server or gearmand (in its chosen setting,
# plus ARGS) on a free port; sets spid, sport, stgt.
start() {
	local tgt=$1 log
	shift
	stgt=$tgt
	log=$work/$tgt.log
	case $tgt in
	gm)
		rm -f "$work/port"
		"$gmserver" -L 127.0.0.1 -p 0 --port-file "$work/port" \
		    -l "$log" "$@" 3>&- </dev/null &
		spid=$!
		pids+=("$spid")
		if ! wait_for 30 test -s "$work/port"; then
			fail "gm-server $* did not start: $(tail -3 "$log" \
			    2>/dev/null)"
			stop
			return 1
		fi
		sport=$(cat "$work/port")
		;;
	fifo)
		rm -f "$work/port"
		"$fifo" "$work/port" 3>&- </dev/null 2>"$log" &
		spid=$!
		pids+=("$spid")
		if ! wait_for 30 test -s "$work/port"; then
			fail "fifo did not start: $(tail -3 "$log")"
			stop
			return 1
		fi
		sport=$(cat "$work/port")
		;;
	gearmand)
		sport=$("$gen" port)
		"$gearmand" -L 127.0.0.1 -p "$sport" -f "$nofile" -l "$log" \
		    $gd_opts "$@" 3>&- </dev/null &
		spid=$!
		pids+=("$spid")
		if ! wait_for 30 port_open "$sport"; then
			fail "gearmand $gd_opts $* did not start: $(tail -3 \
			    "$log" 2>/dev/null)"
			stop
			return 1
		fi
		;;
	esac
}

# Stop the running server (TERM, then KILL after 10 s).
stop() {
	[ -n "$spid" ] || return 0
	kill -TERM "$spid" 2>/dev/null
	if ! wait_for 10 eval "! kill -0 $spid 2>/dev/null"; then
		kill -KILL "$spid" 2>/dev/null
	fi
	wait "$spid" 2>/dev/null
	spid=
}

# g ARGS...: run the generator against the running server; its result
# line's key=value pairs land in the array R.  Fails (and notes it) when
# the generator does.
declare -A R
g() {
	local line kv rc
	R=()
	line=$("$gen" -p "$sport" -P "$spid" -t 240 "$@" 2>"$work/gen.err")
	rc=$?
	if [ $rc -ne 0 ] || [ "${line#result }" = "$line" ]; then
		fail "$stgt: gmbench $*: $(tail -2 "$work/gen.err")"
		return 1
	fi
	for kv in ${line#result }; do
		R[${kv%%=*}]=${kv#*=}
	done
}

# rec_rate NAME: record rate and CPU figures of the last run as NAME.*.
rec_rate() {
	rec "$stgt.$1.rate" "${R[rate]}"
	rec "$stgt.$1.gen_pct" "${R[gen_pct]}"
	rec "$stgt.$1.srv_pct" "${R[srv_pct]}"
	rec "$stgt.$1.srvus" "${R[srv_us_per_job]}"
	rec "$stgt.$1.genus" "${R[gen_us_per_job]}"
}

# Scenarios 1-4 on one server: background end to end (also with pipelined
# grabs), submit only then drain only, foreground latency and throughput.
s_basic() {
	local t=$1
	say "  $t: background end-to-end"
	g -c 4 -w 8 -W 64 -n "$n_bg" -f bg bg && rec_rate bg
	g -c 4 -w 8 -W 64 -g 8 -n "$n_bg" -f bgp bg && rec_rate bgpipe
	say "  $t: submit only, drain only"
	if g -c 4 -W 64 -n "$n_bg" -f sd submit; then
		rec_rate submit
		g -w 8 -n "$n_bg" -f sd drain && rec_rate drain
	fi
	if g -c 4 -W 64 -n "$n_bg" -f sdp submit; then
		g -w 8 -g 8 -n "$n_bg" -f sdp drain && rec_rate drainpipe
	fi
	say "  $t: foreground latency, throughput"
	if g -n "$n_lat" -f lat lat; then
		rec "$t.lat.p50" "${R[p50_us]}"
		rec "$t.lat.p99" "${R[p99_us]}"
		rec "$t.lat.max" "${R[max_us]}"
	fi
	g -c 16 -w 8 -W 8 -n "$n_fg" -f fg fg && rec_rate fg
}

# The minimal FIFO server (tests/bench/fifo.c): the background scenarios
# against a server that only moves jobs through one FIFO, the yardstick
# for what a server can do on this machine with this generator.
s_fifo() {
	[ -x "$fifo" ] || return
	start fifo || return
	say "  fifo: background scenarios"
	g -c 4 -w 8 -W 64 -n "$n_bg" -f bg bg && rec_rate bg
	g -c 4 -w 8 -W 64 -g 8 -n "$n_bg" -f bgp bg && rec_rate bgpipe
	if g -c 4 -W 64 -n "$n_bg" -f sd submit; then
		rec_rate submit
		g -w 8 -n "$n_bg" -f sd drain && rec_rate drain
	fi
	if g -c 4 -W 64 -n "$n_bg" -f sdp submit; then
		g -w 8 -g 8 -n "$n_bg" -f sdp drain && rec_rate drainpipe
	fi
	stop
}

# Scenario 5 (and 7 at the top): a million queued background jobs with
# unique ids: RSS per job; a batch on top of them; then the drain.
s_mem() {
	local t=$1
	say "  $t: $n_mem queued jobs with unique ids"
	g -c 4 -W 64 -n "$n_mem" -U "m-" -f mem submit || return
	rec "$t.mem.fill" "${R[rate]}"
	rec "$t.mem.bytes" "$(awk -v a="${R[rss_before_kb]}" \
	    -v b="${R[rss_after_kb]}" -v n="$n_mem" \
	    'BEGIN { printf "%.0f", (b - a) * 1024 / n }')"
	if g -c 4 -w 8 -W 64 -n "$n_scale" -f batch bg; then
		rec "$t.scale1m.us" "${R[us_per_job]}"
		rec "$t.scale1m.srvus" "${R[srv_us_per_job]}"
	fi
	if g -w 8 -g 8 -n "$n_mem" -f mem drain; then
		rec "$t.mem.drain" "${R[secs]}"
	fi
}

# Scenario 7 at the bottom: the same batch with 10,000 jobs queued.
s_scale() {
	local t=$1
	say "  $t: batch over $n_pre queued jobs"
	g -c 4 -W 64 -n "$n_pre" -U "k-" -f pre submit || return
	if g -c 4 -w 8 -W 64 -n "$n_scale" -f batch bg; then
		rec "$t.scale10k.us" "${R[us_per_job]}"
		rec "$t.scale10k.srvus" "${R[srv_us_per_job]}"
	fi
}

# Scenario 6: idle connections.
s_conns() {
	local t=$1
	say "  $t: $n_conns idle connections"
	g -n "$n_conns" conns || return
	rec "$t.conns.bytes" "${R[bytes_per_conn]}"
	rec "$t.conns.echo50" "${R[echo_p50_us]}"
	rec "$t.conns.echo99" "${R[echo_p99_us]}"
	rec "$t.conns.newecho" "${R[new_conn_echo_us]}"
}

# Run one server scenario against A then B, each on a fresh server.
pair() {
	local s=$1 t
	for t in gm gearmand; do
		if [ "$t" = gm ] && [ -z "$gm_ok" ]; then
			continue
		fi
		start "$t" $([ "$t" = gm ] && echo --journal none) || continue
		"s_$s" "$t"
		stop
	done
}

# Print milliseconds since the epoch.
ms() {
	date +%s%3N
}

# tool_ok: a quick check that gm-submit -n and gm-work work here.
tool_check() {
	local p wp res
	submit_ok= work_ok=
	printf 'a\nbb\nccc\n' >"$work/t3"
	if [ -x "$gmsubmit" ]; then
		"$gen" -p "$sport" -t 60 -w 1 -f tchk worker \
		    >/dev/null 2>&1 3>&- &
		wp=$!
		pids+=("$wp")
		res=$(timeout 20 "$gmsubmit" -h 127.0.0.1 -p "$sport" -n \
		    -f tchk <"$work/t3" 2>&1)
		kill -TERM "$wp" 2>/dev/null
		if wait "$wp" && [ "$res" = "$(cat "$work/t3")" ]; then
			submit_ok=1
		else
			notes+=("gm-submit -n failed its check, scenario 8a\
 skipped: $(printf %s "$res" | head -c 200)")
		fi
	else
		notes+=("no $gmsubmit: scenario 8a (gm-submit -n) skipped")
	fi
	if [ -x "$gmwork" ]; then
		"$gmwork" -h 127.0.0.1 -p "$sport" -f wchk -- cat \
		    >"$work/wchk.log" 2>&1 3>&- </dev/null &
		p=$!
		pids+=("$p")
		if wait_for 10 fn_has_worker wchk &&
		    "$gen" -p "$sport" -t 20 -c 1 -w 0 -n 5 -f wchk fg \
		    >/dev/null 2>"$work/wchk.err"; then
			work_ok=1
		else
			notes+=("gm-work -- cat failed its check, scenarios\
 8b/8c skipped: $(head -c 200 "$work/wchk.err" "$work/wchk.log" \
			    2>/dev/null)")
		fi
		kill -TERM "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	else
		notes+=("no $gmwork: scenarios 8b/8c (gm-work) skipped")
	fi
}

# fn_has_worker FUNC: the admin status of the server lists a worker for it.
fn_has_worker() {
	local line
	exec 8<>"/dev/tcp/127.0.0.1/$sport" || return 1
	printf 'status\n' >&8
	while IFS= read -r -t 5 line <&8; do
		line=${line%$'\r'}
		[ "$line" = . ] && break
		case $line in
		"$1"$'\t'*) set -- $line
			exec 8<&-
			[ "${4:-0}" -gt 0 ]
			return ;;
		esac
	done
	exec 8<&-
	return 1
}

# worker_run KEY FUNC CMD...: time COMMAND as the worker of n_tool
# foreground jobs (window 16), checking every result.
worker_run() {
	local key=$1 fn=$2 p t0 t1
	shift 2
	"$@" >"$work/w.log" 2>&1 3>&- </dev/null &
	p=$!
	pids+=("$p")
	if ! wait_for 10 fn_has_worker "$fn"; then
		fail "$key: worker did not register: $(tail -2 "$work/w.log")"
		kill -TERM "$p" 2>/dev/null
		wait "$p" 2>/dev/null
		return
	fi
	t0=$(ms)
	if "$gen" -p "$sport" -t 240 -c 1 -w 0 -W 16 -n "$n_tool" -f "$fn" \
	    fg >/dev/null 2>"$work/gen.err"; then
		t1=$(ms)
		rec "$key" "$(awk -v a="$t0" -v b="$t1" \
		    'BEGIN { printf "%.3f", (b - a) / 1000 }')"
	else
		fail "$key: $(tail -2 "$work/gen.err")"
	fi
	kill -TERM "$p" 2>/dev/null
	wait "$p" 2>/dev/null
}

# submit_run KEY CMD...: time COMMAND submitting n_tool lines (-n), with
# gmbench as the worker, and check its output.
submit_run() {
	local key=$1 wp t0 t1
	shift
	"$gen" -p "$sport" -t 300 -w 4 -g 4 -f tsub worker \
	    >"$work/wk.out" 2>"$work/wk.err" 3>&- &
	wp=$!
	pids+=("$wp")
	t0=$(ms)
	timeout 240 "$@" <"$work/lines" >"$work/sub.out" 2>"$work/sub.err"
	t1=$(ms)
	kill -TERM "$wp" 2>/dev/null
	if ! wait "$wp"; then
		fail "$key: worker: $(tail -2 "$work/wk.err")"
	elif ! cmp -s "$work/lines" "$work/sub.out"; then
		fail "$key: output differs from input: $(head -c 200 \
		    "$work/sub.err")"
	else
		rec "$key" "$(awk -v a="$t0" -v b="$t1" \
		    'BEGIN { printf "%.3f", (b - a) / 1000 }')"
	fi
}

# stream_run KEY: time gm-work --stream over n_tool queued background
# jobs into wc -l, checking the count of records.
stream_run() {
	local key=$1 t0 t1 n
	if ! "$gen" -p "$sport" -t 120 -c 1 -w 0 -n "$n_tool" -f wst submit \
	    >/dev/null 2>"$work/gen.err"; then
		fail "$key: $(tail -2 "$work/gen.err")"
		return
	fi
	t0=$(ms)
	n=$(timeout 240 "$gmwork" -h 127.0.0.1 -p "$sport" -c "$n_tool" \
	    --stream -f wst 2>"$work/w.log" 3>&- </dev/null | wc -l)
	t1=$(ms)
	if [ "$n" = "$n_tool" ]; then
		rec "$key" "$(awk -v a="$t0" -v b="$t1" \
		    'BEGIN { printf "%.3f", (b - a) / 1000 }')"
	else
		fail "$key: $n of $n_tool records: $(tail -2 "$work/w.log")"
	fi
}

# Scenario 8: the tools, all against gearmand (the same server for both
# sides, so only the tool differs).
s_tools() {
	start gearmand || return
	if [ -z "$tools_checked" ]; then
		tool_check
		tools_checked=1
		awk -v n="$n_tool" 'BEGIN { for (i = 0; i < n; i++)
		    printf "%010d%s\n", i, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" }' \
		    >"$work/lines"
	fi
	say "  tools: -n over $n_tool lines"
	[ -n "$submit_ok" ] && submit_run tool.submit.gm \
	    "$gmsubmit" -h 127.0.0.1 -p "$sport" -n -f tsub
	submit_run tool.submit.gearman \
	    gearman -h 127.0.0.1 -p "$sport" -n -f tsub
	say "  tools: cat over $n_tool jobs"
	[ -n "$work_ok" ] && worker_run tool.work.gm wk1 \
	    "$gmwork" -h 127.0.0.1 -p "$sport" -f wk1 -- cat
	worker_run tool.work.gearman wk2 \
	    gearman -h 127.0.0.1 -p "$sport" -w -f wk2 -- cat
	[ -n "$work_ok" ] && worker_run tool.work.gmj2 wk3 \
	    "$gmwork" -h 127.0.0.1 -p "$sport" -j 2 -f wk3 -- cat
	say "  tools: gm-work -C and --stream over $n_tool jobs"
	[ -n "$work_ok" ] && worker_run tool.work.gmco wk4 \
	    "$gmwork" -h 127.0.0.1 -p "$sport" -C -f wk4 -- cat
	[ -n "$work_ok" ] && worker_run tool.work.gmco4 wk5 \
	    "$gmwork" -h 127.0.0.1 -p "$sport" -C -j 4 -f wk5 -- cat
	[ -n "$work_ok" ] && stream_run tool.work.gmstream
	stop
}

# journal_check: does gm-server run with --journal DIR?  (A failure here
# is a note, not an error of the run.)
journal_check() {
	local ne=${#errors[@]}
	journal_ok=
	mkdir -p "$work/jchk"
	if [ -n "$gm_ok" ] &&
	    start gm --journal "$work/jchk" 2>/dev/null; then
		if g -c 1 -w 1 -n 100 -f jchk bg; then
			journal_ok=1
		fi
		stop
	fi
	if [ -z "$journal_ok" ]; then
		errors=("${errors[@]:0:$ne}")
		notes+=("gm-server --journal DIR does not work yet:\
 durable scenarios J1-J4 skipped")
	fi
}

# Durability (issue 5): background end to end with gm-server's durable
# default, relaxed sync, and gearmand with its libsqlite3 queue.
s_journal() {
	local d
	[ -n "$journal_checked" ] || { journal_check; journal_checked=1; }
	if [ -n "$journal_ok" ]; then
		d=$work/j$round
		rm -rf "$d" && mkdir -p "$d"
		say "  gm: durable (fsync before ack)"
		if start gm --journal "$d"; then
			g -c 4 -w 8 -W 64 -n "$n_bg" -f jd bg &&
			    rec gm.dur.rate "${R[rate]}"
			stop
		fi
		rm -rf "$d" && mkdir -p "$d"
		say "  gm: relaxed (--journal-sync 10)"
		if start gm --journal "$d" --journal-sync 10; then
			g -c 4 -w 8 -W 64 -n "$n_bg" -f jr bg &&
			    rec gm.relax.rate "${R[rate]}"
			stop
		fi
		rm -rf "$d"
	fi
	[ -n "$journal_ok" ] && s_replay
	say "  gearmand: -q libsqlite3"
	rm -f "$work/gd.sqlite"
	if start gearmand -q libsqlite3 --libsqlite3-db "$work/gd.sqlite"; then
		g -c 4 -w 8 -W 64 -n "$n_sql" -D 3 -U "q-" -f jq bg &&
		    rec gearmand.sql.rate "${R[rate]}"
		stop
	fi
}

# fn_queued FUNC: the number of queued jobs the admin status shows.
fn_queued() {
	local line n=
	exec 8<>"/dev/tcp/127.0.0.1/$sport" || return 1
	printf 'status\n' >&8
	while IFS= read -r -t 5 line <&8; do
		line=${line%$'\r'}
		[ "$line" = . ] && break
		case $line in
		"$1"$'\t'*) set -- $line
			n=$2 ;;
		esac
	done
	exec 8<&-
	echo "${n:-0}"
}

# TLS (issue 15): background end to end through the plain port and the
# TLS port of one gm-server, in turn (the order flips each round).
s_tls() {
	local plain tlsport k
	[ -n "$gm_ok" ] || return 0
	if [ ! -s "$work/tls.pem" ] && ! openssl req -x509 -newkey rsa:2048 \
	    -nodes -days 2 -subj /CN=localhost -keyout "$work/tls.key" \
	    -out "$work/tls.pem" 2>/dev/null; then
		fail "openssl cannot make a certificate: TLS row skipped"
		return 1
	fi
	say "  gm: background e2e, plain and TLS ports of one server"
	start gm --journal none --ssl-port 0 --ssl-certificate \
	    "$work/tls.pem" --ssl-key "$work/tls.key" || return 1
	plain=${sport%%$'\n'*}
	tlsport=${sport##*$'\n'}
	for k in $( [ $((round % 2)) = 1 ] && echo plain tls || echo tls plain)
	do
		if [ "$k" = tls ]; then
			sport=$tlsport
			g -S -c 4 -w 8 -W 64 -n "$n_bg" -f tt bg && rec_rate tls
		else
			sport=$plain
			g -c 4 -w 8 -W 64 -n "$n_bg" -f tp bg &&
			    rec_rate tlsplain
		fi
	done
	stop
}

# Broadcast (issue 11): n_members gm-work members (echo mode, ids m1..),
# one `gm-submit --all` timed from start to exit (ms), every reply checked.
n_members=100
s_bcast() {
	local i p t0 t1 n mp=()
	[ -n "$gm_ok" ] || return 0
	say "  gm: broadcast to $n_members members"
	start gm --journal none || return 1
	for i in $(seq "$n_members"); do
		"$gmwork" -h 127.0.0.1 -p "$sport" --id "m$i" -f bc \
		    >/dev/null 2>>"$work/bcw.log" 3>&- </dev/null &
		pids+=("$!")
		mp+=("$!")
	done
	if ! wait_for 60 eval '[ "$("$top/build/bin/gm-admin" -h \
	    127.0.0.1 -p "$sport" --raw members bc | grep -c "^m")" \
	    = "$n_members" ]'; then
		fail "bcast: $n_members members did not register"
	else
		t0=$(ms)
		"$gmsubmit" -h 127.0.0.1 -p "$sport" -t 60000 --all -f bc \
		    hello >"$work/bc.out" 2>"$work/bc.err"
		t1=$(ms)
		n=$(grep -c '^m[0-9]*: hello$' "$work/bc.out")
		if [ "$n" != "$n_members" ]; then
			fail "bcast: $n replies of $n_members: $(tail -1 \
			    "$work/bc.err")"
		else
			rec gm.bcast.ms "$((t1 - t0))"
		fi
	fi
	# Members first (they would reconnect to a stopped server forever).
	for p in "${mp[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${mp[@]}"; do
		wait "$p" 2>/dev/null
	done
	stop
}

# Replay (issue 5): fill the durable journal with n_mem background jobs,
# kill the server (SIGKILL), and time a restart up to listening, when
# every job must be queued again.
s_replay() {
	local d=$work/replay t0 t1 q
	rm -rf "$d" && mkdir -p "$d"
	say "  gm: durable fill of $n_mem jobs, SIGKILL, replay"
	start gm --journal "$d" || return
	if ! g -c 4 -W 64 -n "$n_mem" -U "r-" -f rp submit; then
		stop
		return
	fi
	rec gm.durfill.rate "${R[rate]}"
	kill -KILL "$spid"
	wait "$spid" 2>/dev/null
	spid=
	t0=$(ms)
	start gm --journal "$d" || return
	t1=$(ms)
	q=$(fn_queued rp)
	if [ "$q" = "$n_mem" ]; then
		rec gm.replay.secs "$(awk -v a="$t0" -v b="$t1" \
		    'BEGIN { printf "%.3f", (b - a) / 1000 }')"
	else
		fail "replay: $q of $n_mem jobs queued after restart"
	fi
	stop
	rm -rf "$d"
}

# Choose gearmand's fastest setting for this machine: threads 0, 1, 2,
# default and large hash tables, by background end-to-end rate.
tune_gearmand() {
	local t opts r best=0 i k
	local -A rs
	local settings=("-t 0 --hashtable-buckets 991" \
	    "-t 0 --hashtable-buckets $buckets" \
	    "-t 1 --hashtable-buckets $buckets" \
	    "-t 2 --hashtable-buckets $buckets")
	say "choosing gearmand's setting (-t, --hashtable-buckets)"
	for i in 1 2; do
		for k in "${!settings[@]}"; do
			gd_opts=${settings[$k]}
			start gearmand || continue
			if g -c 4 -w 8 -W 64 -n "$n_tune" -f tune bg; then
				r=${R[rate]}
				rs[$k]="${rs[$k]:-} $r"
				if [ "$r" -gt "$best" ]; then
					best=$r
					opts=$gd_opts
				fi
			fi
			stop
		done
	done
	for k in "${!settings[@]}"; do
		tune+=("$(printf '%-34s' "${settings[$k]}:")${rs[$k]:-} jobs/s")
	done
	gd_opts=${opts:--t 0 --hashtable-buckets $buckets}
}

# median/min/max of a key's values: "median min max n", or empty.
stats() {
	awk -v k="$1" '$1 == k { print $3 }' "$vals" | sort -g |
	    awk '{ v[++n] = $1 }
	    END {
		if (n == 0) exit
		m = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
		print m, v[1], v[n], n
	    }'
}

# Format a number: integers for large values, else 3 significant digits.
fmt() {
	awk -v x="$1" 'BEGIN {
		if (x == "") { print "-"; exit }
		a = x < 0 ? -x : x
		if (a >= 1000) printf "%.0f", x
		else if (a >= 100) printf "%.0f", x
		else if (a >= 10) printf "%.1f", x
		else printf "%.2f", x }'
}

# row LABEL KEY_A KEY_B TARGET [cpu]: one line of the table.  TARGET is a
# condition on A/B (">=1.3", "<=1.0"), "A<=300" on A alone, or "".  With
# "cpu", the CPU use of generator and server is shown too.
row() {
	local label=$1 ka=$2 kb=$3 target=$4 showcpu=${5:-} a b am bm
	local ratio verdict cpu pa pb
	a=$(stats "$ka")
	b=$(stats "$kb")
	am=${a%% *}
	bm=${b%% *}
	ratio=-
	if [ -n "$am" ] && [ -n "$bm" ]; then
		ratio=$(awk -v a="$am" -v b="$bm" \
		    'BEGIN { if (b != 0) printf "%.2f", a / b; else print "-" }')
	fi
	verdict=
	case $target in
	"") verdict= ;;
	A*)
		if [ -n "$am" ]; then
			verdict=$(awk -v a="$am" -v t="${target#A}" \
			    'BEGIN { op = substr(t, 1, 2); v = substr(t, 3) + 0
			    a += 0; ok = op == "<=" ? a <= v : a >= v
			    print ok ? "met" : "MISSED" }')
		else
			verdict=n/a
		fi ;;
	*)
		if [ "$ratio" != - ]; then
			verdict=$(awk -v r="$ratio" -v t="$target" \
			    'BEGIN { op = substr(t, 1, 2); v = substr(t, 3) + 0
			    r += 0; ok = op == "<=" ? r <= v : r >= v
			    print ok ? "met" : "MISSED" }')
		else
			verdict=n/a
		fi ;;
	esac
	pa=-
	pb=-
	if [ -n "$a" ]; then
		set -- $a
		pa="$(fmt "$1") ($(fmt "$2")-$(fmt "$3"))"
	fi
	if [ -n "$b" ]; then
		set -- $b
		pb="$(fmt "$1") ($(fmt "$2")-$(fmt "$3"))"
	fi
	cpu=
	ka=${ka%.*}
	kb=${kb%.*}
	if [ "$showcpu" = cpu ]; then
		cpu="gen $(fmt "$(stats "$ka.gen_pct" | cut -d' ' -f1)")/$(fmt \
		    "$(stats "$kb.gen_pct" | cut -d' ' -f1)")%"
		cpu="$cpu srv $(fmt "$(stats "$ka.srv_pct" | cut -d' ' -f1)")/$(
		    fmt "$(stats "$kb.srv_pct" | cut -d' ' -f1)")%"
	fi
	printf '%-44s %-26s %-26s %6s  %-7s %-7s %s\n' "$label" "$pa" "$pb" \
	    "$ratio" "$target" "$verdict" "$cpu"
}

# The results table.
table() {
	local cpu mem
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' \
	    /proc/meminfo)
	echo "gm bench: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores" \
	    "($cpu), $mem, Linux $(uname -r)"
	echo "command: make bench (tests/bench/run.sh), $rounds rounds" \
	    "A B A B; payload 100 bytes"
	echo "loadavg: before $load0; after $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "A = ${gm_ver:-gm-server (not run)} --journal none;" \
	    "B = gearmand $gd_ver $gd_opts"
	echo "gearmand settings tried (background end-to-end, $n_tune jobs):"
	printf '    %s\n' "${tune[@]}"
	echo "cells: median (min-max) over the rounds; ratio = A/B of" \
	    "medians; gen/srv: CPU of the generator and of the server," \
	    "% of one core"
	echo
	printf '%-44s %-26s %-26s %6s  %-7s %-7s %s\n' scenario A B A/B \
	    target verdict cpu
	row "1  background e2e, jobs/s" gm.bg.rate gearmand.bg.rate ">=1.3" cpu
	row "1b same, 8 pipelined grabs/worker" gm.bgpipe.rate \
	    gearmand.bgpipe.rate "" cpu
	row "2a submit only, jobs/s" gm.submit.rate gearmand.submit.rate ">=2" cpu
	row "2b drain only (8 workers), jobs/s" gm.drain.rate \
	    gearmand.drain.rate ">=1.3" cpu
	row "2c drain, 8 pipelined grabs/worker" gm.drainpipe.rate \
	    gearmand.drainpipe.rate "" cpu
	row "3  fg latency p50, us" gm.lat.p50 gearmand.lat.p50 "<=1.0"
	row "3  fg latency p99, us" gm.lat.p99 gearmand.lat.p99 ""
	row "3  fg latency max, us" gm.lat.max gearmand.lat.max ""
	row "4  fg throughput (16 cl, 8 wk), jobs/s" gm.fg.rate \
	    gearmand.fg.rate "" cpu
	row "5a RSS per queued job (1M, unique), B" gm.mem.bytes \
	    gearmand.mem.bytes "A<=300"
	row "5b fill 1M unique-id jobs, jobs/s" gm.mem.fill gearmand.mem.fill ""
	row "5c drain 1M (8 workers x 8 grabs), s" gm.mem.drain \
	    gearmand.mem.drain ""
	row "6a RSS per idle connection, B" gm.conns.bytes \
	    gearmand.conns.bytes ""
	row "6b ECHO p50 with $n_conns open, us" gm.conns.echo50 \
	    gearmand.conns.echo50 ""
	row "6b ECHO p99 with $n_conns open, us" gm.conns.echo99 \
	    gearmand.conns.echo99 ""
	row "6c connect + ECHO with them open, us" gm.conns.newecho \
	    gearmand.conns.newecho ""
	row "7a wall us/job, batch over $n_pre queued" gm.scale10k.us \
	    gearmand.scale10k.us ""
	row "7b wall us/job, batch over $n_mem queued" gm.scale1m.us \
	    gearmand.scale1m.us ""
	row "7c server CPU us/job over $n_pre queued" gm.scale10k.srvus \
	    gearmand.scale10k.srvus ""
	row "7d server CPU us/job over $n_mem queued" gm.scale1m.srvus \
	    gearmand.scale1m.srvus ""
	row "7e CPU/job ratio 7d/7c (flat = 1)" gm.scale.flat \
	    gearmand.scale.flat "A<=1.25"
	echo
	echo "server CPU per job, us (robust when the machine is busy):"
	row "1  background e2e" gm.bg.srvus gearmand.bg.srvus ""
	row "1b same, pipelined grabs" gm.bgpipe.srvus gearmand.bgpipe.srvus ""
	row "2a submit only" gm.submit.srvus gearmand.submit.srvus ""
	row "2b drain only" gm.drain.srvus gearmand.drain.srvus ""
	row "2c drain, pipelined grabs" gm.drainpipe.srvus \
	    gearmand.drainpipe.srvus ""
	row "4  fg throughput" gm.fg.srvus gearmand.fg.srvus ""
	echo
	echo "the minimal FIFO server (tests/bench/fifo.c) as B: the floor" \
	    "for this machine and generator"
	row "1  background e2e, jobs/s" gm.bg.rate fifo.bg.rate "" cpu
	row "1b same, pipelined grabs" gm.bgpipe.rate fifo.bgpipe.rate "" cpu
	row "2a submit only, jobs/s" gm.submit.rate fifo.submit.rate "" cpu
	row "2b drain only, jobs/s" gm.drain.rate fifo.drain.rate "" cpu
	row "2c drain, pipelined grabs" gm.drainpipe.rate \
	    fifo.drainpipe.rate "" cpu
	row "1  server CPU us/job, background e2e" gm.bg.srvus fifo.bg.srvus ""
	row "2b server CPU us/job, drain only" gm.drain.srvus \
	    fifo.drain.srvus ""
	echo
	echo "tools (both against gearmand; A = gm tool, B = gearman tool):"
	row "8a -n over $n_tool lines, s" tool.submit.gm \
	    tool.submit.gearman "<=0.1"
	row "8b worker 'cat' x $n_tool jobs, s" tool.work.gm \
	    tool.work.gearman ""
	row "8c gm-work -j 2 'cat' x $n_tool, s" tool.work.gmj2 \
	    tool.work.gearman ""
	echo "gm-work -C and --stream (issue 13; A = the mode, B = a process"\
	    "per job: 8b's A, or gearman -w):"
	row "8d -C 'cat' x $n_tool vs per-job, s" tool.work.gmco \
	    tool.work.gm "<=0.033"
	row "8e -C -j 4 'cat' x $n_tool vs per-job, s" tool.work.gmco4 \
	    tool.work.gm "<=0.033"
	row "8f --stream x $n_tool bg vs per-job, s" tool.work.gmstream \
	    tool.work.gm "<=0.033"
	row "8g -C 'cat' x $n_tool vs gearman -w, s" tool.work.gmco \
	    tool.work.gearman ""
	row "8h --stream x $n_tool vs gearman -w, s" tool.work.gmstream \
	    tool.work.gearman ""
	echo
	echo "durability (issue 5), background end-to-end, jobs/s:"
	row "J1 gm durable (fsync) vs B in memory" gm.dur.rate \
	    gearmand.bg.rate ">=1.0"
	row "J2 gm durable vs gm --journal none" gm.dur.rate gm.bg.rate ">=0.5"
	row "J3 gm durable vs B -q libsqlite3" gm.dur.rate gearmand.sql.rate \
	    ">=50"
	row "J4 gm --journal-sync 10 vs B in memory" gm.relax.rate \
	    gearmand.bg.rate ""
	row "J5 submit only, $n_mem unique: durable/B" gm.durfill.rate \
	    gearmand.mem.fill ""
	row "J6 replay $n_mem jobs after SIGKILL, s" gm.replay.secs "" "A<=5"
	echo
	echo "TLS (issue 15), background end-to-end on one gm-server:" \
	    "A = its TLS port (-S), B = its plain port:"
	row "T1 TLS vs plain, jobs/s" gm.tls.rate gm.tlsplain.rate "" cpu
	row "T2 server CPU us/job, TLS vs plain" gm.tls.srvus \
	    gm.tlsplain.srvus ""
	echo
	echo "broadcast (issue 11), gm only (gearmand has none):"
	row "B1 gm-submit --all to $n_members members, ms" gm.bcast.ms "" ""
	echo
	if [ ${#notes[@]} -gt 0 ]; then
		echo "notes:"
		printf '    %s\n' "${notes[@]}"
	fi
	if [ ${#errors[@]} -gt 0 ]; then
		echo "errors:"
		printf '    %s\n' "${errors[@]}"
	fi
}

# --- main ---
load0=$(cut -d' ' -f1-3 /proc/loadavg)
tune=()
gd_opts=
gd_ver=$("$gearmand" -V 2>/dev/null | awk 'NF { print $2; exit }')
[ -x "$gen" ] || { echo "no $gen: run make first" >&2; exit 1; }
[ -x "$gearmand" ] || { echo "no $gearmand: run make deps" >&2; exit 1; }

gm_ok=
if [ -x "$gmserver" ]; then
	gm_ver=$("$gmserver" -V 2>/dev/null | head -1)
	if start gm --journal none; then
		g -c 1 -w 1 -n 100 -f chk bg && gm_ok=1
		stop
	fi
else
	fail "no $gmserver: build it first (make)"
fi
[ -n "$gm_ok" ] || notes+=("gm-server did not work: column A is empty")

# gearmand's setting is chosen only when a group compares against it.
case " $only " in
*" basic "*|*" mem "*|*" scale "*|*" conns "*|*" tools "*|*" journal "*)
	tune_gearmand
	say "gearmand: $gd_opts" ;;
*)	tune=("(none: no group runs gearmand)") ;;
esac
tools_checked= journal_checked=
for round in $(seq "$rounds"); do
	say "round $round of $rounds (loadavg $(cut -d' ' -f1-3 /proc/loadavg))"
	for s in $only; do
		case $s in
		basic|mem|scale|conns) pair "$s" ;;
		fifo) s_fifo ;;
		tools) s_tools ;;
		journal) s_journal ;;
		tls) s_tls ;;
		bcast) s_bcast ;;
		*) fail "unknown group $s" ;;
		esac
	done
	# Flatness: server CPU per job at the top over that at the bottom
	# (CPU, not wall time, so that other load on the machine cancels).
	for t in gm gearmand; do
		a=$(awk -v k="$t.scale1m.srvus" -v r="$round" \
		    '$1 == k && $2 == r { print $3 }' "$vals")
		b=$(awk -v k="$t.scale10k.srvus" -v r="$round" \
		    '$1 == k && $2 == r { print $3 }' "$vals")
		[ -n "$a" ] && [ -n "$b" ] && rec "$t.scale.flat" \
		    "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", a / b }')"
	done
done

table | tee "$out"
[ ${#errors[@]} -eq 0 ]
