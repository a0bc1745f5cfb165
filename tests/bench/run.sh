#!/usr/bin/env bash
# make bench: gm-server against gearmand 1.1.20 and against the floor of
# this machine (tests/bench/fifo.c, a server that only moves jobs), side by
# side.  Every scenario runs against each server in turn (gm, gm with its
# durable journal, gearmand, floor, gm, ...) for BENCH_ROUNDS rounds
# (default 3), each time on a fresh server, with two worker loops: our
# generator's (tests/bench/gmbench) and libgearman's (tests/bench/lgworker).
# The table of medians, min-max over the rounds, gm/gearmand and gm/floor
# ratios and the server's CPU per job goes to stdout and to
# tests/bench/results.txt.  Progress goes to stderr.  Exits non-zero when a
# scenario errored (a missed target is not an error).  Kills only the
# processes it started.
#
# BENCH_ROUNDS=N      rounds (default 3)
# BENCH_QUICK=1       small counts (a smoke run of this script, minutes -> s)
# BENCH_ONLY="..."    groups to run (default: core mem bcast); more: scale
#                     conns tools journal tls, or "all"
# BENCH_CPU=N         the CPU the latency rows pin every process to
#                     (default: the last one)
set -u
cd "$(dirname "$0")/../.."
top=$PWD
gen=$top/build/tests/bench/gmbench
gmserver=$top/build/bin/gm-server
gmsubmit=$top/build/bin/gm-submit
gmwork=$top/build/bin/gm-work
fifo=$top/build/tests/bench/fifo
lgworker=$top/build/tests/bench/lgworker
gearmand=${GEARMAND:-/usr/sbin/gearmand}
rounds=${BENCH_ROUNDS:-3}
only=${BENCH_ONLY:-core mem bcast}
[ "$only" = all ] && only="core mem scale conns tools journal tls bcast"
cpus=$(nproc)
pincpu=${BENCH_CPU:-$((cpus - 1))}
pin=			# "taskset -c N" while a latency row runs
out=$top/tests/bench/results.txt
unset GEARMAN_SERVER

# Job counts (payload 100 bytes throughout).
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	n_bg=5000 n_lat=500 n_fg=5000 n_mem=20000 n_pre=1000 n_scale=5000
	n_conns=1000 n_tool=500 n_sql=300 n_tune=5000
else
	n_bg=100000 n_lat=20000 n_fg=100000 n_mem=1000000 n_pre=10000
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
		$pin "$gmserver" -L 127.0.0.1 -p 0 --port-file "$work/port" \
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
		$pin "$fifo" "$work/port" 3>&- </dev/null 2>"$log" &
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
		$pin "$gearmand" -L 127.0.0.1 -p "$sport" -f "$nofile" \
		    -l "$log" $gd_opts "$@" 3>&- </dev/null &
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

# result LINE: the key=value pairs of a "result ..." line into the array R.
declare -A R
result() {
	local kv
	R=()
	for kv in ${1#result }; do
		R[${kv%%=*}]=${kv#*=}
	done
}

# g ARGS...: run the generator against the running server; its result
# line's key=value pairs land in the array R.  Fails (and notes it) when
# the generator does.
g() {
	local line rc
	R=()
	line=$($pin "$gen" -p "$sport" -P "$spid" -t 240 "$@" \
	    2>"$work/gen.err")
	rc=$?
	if [ $rc -ne 0 ] || [ "${line#result }" = "$line" ]; then
		fail "$stgt: gmbench $*: $(tail -2 "$work/gen.err")"
		return 1
	fi
	result "$line"
}

# rec_rate NAME: record rate and CPU figures of the last run as NAME.*.
rec_rate() {
	rec "$stgt.$1.rate" "${R[rate]:-}"
	rec "$stgt.$1.gen_pct" "${R[gen_pct]:-}"
	rec "$stgt.$1.srv_pct" "${R[srv_pct]:-}"
	rec "$stgt.$1.srvus" "${R[srv_us_per_job]:-}"
	rec "$stgt.$1.genus" "${R[gen_us_per_job]:-}"
}

# lg_start JOBS WORKERS FUNC: start lgworker (libgearman's worker loop,
# WORKERS threads, exiting after JOBS jobs in all) against the running
# server and wait until every worker has registered; sets lgpid.
lg_start() {
	: >"$work/lg.out"
	$pin "$lgworker" -p "$sport" -P "$spid" -n "$1" -w "$2" -f "$3" \
	    >"$work/lg.out" 2>"$work/lg.err" 3>&- </dev/null &
	lgpid=$!
	pids+=("$lgpid")
	if ! wait_for 30 grep -q '^ready$' "$work/lg.out"; then
		fail "$stgt: lgworker did not register: $(tail -2 \
		    "$work/lg.err")"
		lg_stop
		return 1
	fi
}

# lg_stop: stop lgworker if it still runs.
lg_stop() {
	ours "$lgpid" && kill -TERM "$lgpid" 2>/dev/null
	wait "$lgpid" 2>/dev/null
}

# lg_result: wait (up to 240 s) for lgworker's result line; its key=value
# pairs land in R.
lg_result() {
	R=()
	if ! wait_for 240 grep -q '^result ' "$work/lg.out"; then
		fail "$stgt: lgworker: no result: $(tail -2 "$work/lg.err")"
		lg_stop
		return 1
	fi
	wait "$lgpid" 2>/dev/null
	result "$(grep '^result ' "$work/lg.out")"
}

# rec_lat NAME: record the latency percentiles and server CPU of the last
# run as NAME.*.
rec_lat() {
	rec "$stgt.$1.p50" "${R[p50_us]:-}"
	rec "$stgt.$1.p99" "${R[p99_us]:-}"
	rec "$stgt.$1.srvus" "${R[srv_us_per_job]:-}"
}

# The throughput rows on one server (its key prefix in stgt): background
# end to end, submit only, drain only, each with our generator's worker
# loop and with libgearman's; with "bgonly", background end to end only.
s_core() {
	local t=$stgt
	say "  $t: background end to end (gmbench, libgearman)"
	g -c 4 -w 8 -W 64 -n "$n_bg" -f bg bg && rec_rate bg
	if lg_start "$n_bg" 8 lgbg; then
		g -c 4 -W 64 -n "$n_bg" -f lgbg submit && lg_result &&
		    rec_rate lgbg
		lg_stop
	fi
	[ "${1:-}" = bgonly ] && return
	g -c 4 -w 8 -W 64 -g 8 -n "$n_bg" -f bgp bg && rec_rate bgpipe
	say "  $t: submit only, drain only (gmbench, libgearman)"
	if g -c 4 -W 64 -n "$n_bg" -f sd submit; then
		rec_rate submit
		g -w 8 -n "$n_bg" -f sd drain && rec_rate drain
	fi
	if g -c 4 -W 64 -n "$n_bg" -f sdp submit; then
		g -w 8 -g 8 -n "$n_bg" -f sdp drain && rec_rate drainpipe
	fi
	if g -c 4 -W 64 -n "$n_bg" -f lgsd submit &&
	    lg_start "$n_bg" 8 lgsd; then
		lg_result && rec_rate lgdrain
		lg_stop
	fi
	say "  $t: foreground throughput"
	g -c 16 -w 8 -W 8 -n "$n_fg" -f fg fg && rec_rate fg
}

# The foreground latency rows on one server: one job at a time, server,
# client and worker pinned to one CPU, with our generator's worker (in the
# client's process) and with libgearman's (a third process).
s_lat() {
	local t=$stgt
	say "  $t: foreground latency pinned to CPU $pincpu"
	g -n "$n_lat" -f lat lat && rec_lat lat
	if lg_start "$n_lat" 1 lglat; then
		g -w 0 -n "$n_lat" -f lglat lat && rec_lat lglat
		lg_result
		lg_stop
	fi
}

# One round of the core rows: each server in turn, on a fresh server, the
# throughput rows unpinned, then the latency rows pinned.
round_core() {
	local t d a b
	for t in gm gmj gearmand fifo; do
		case $t in
		gm)	[ -n "$gm_ok" ] || continue
			start gm --journal none || continue
			s_core ;;
		gmj)	[ -n "$gm_ok" ] || continue
			d=$work/j$round
			rm -rf "$d" && mkdir -p "$d"
			start gm --journal "$d" || continue
			stgt=gmj
			s_core bgonly ;;
		gearmand) start gearmand || continue
			s_core ;;
		fifo)	start fifo || continue
			s_core ;;
		esac
		stop
		rm -rf "$work/j$round"
	done
	pin="taskset -c $pincpu"
	for t in gm gearmand fifo; do
		[ "$t" = gm ] && [ -z "$gm_ok" ] && continue
		start "$t" $([ "$t" = gm ] && echo --journal none) || continue
		s_lat
		stop
	done
	pin=
	# Durable over memory-only, per round.
	a=$(awk -v r="$round" '$1 == "gmj.bg.rate" && $2 == r { print $3 }' \
	    "$vals")
	b=$(awk -v r="$round" '$1 == "gm.bg.rate" && $2 == r { print $3 }' \
	    "$vals")
	[ -n "$a" ] && [ -n "$b" ] && rec gmj.bgmem.ratio \
	    "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", a / b }')"
	a=$(awk -v r="$round" '$1 == "gmj.lgbg.rate" && $2 == r { print $3 }' \
	    "$vals")
	b=$(awk -v r="$round" '$1 == "gm.lgbg.rate" && $2 == r { print $3 }' \
	    "$vals")
	[ -n "$a" ] && [ -n "$b" ] && rec gmj.lgbgmem.ratio \
	    "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", a / b }')"
}

# Scenario 5 (and 7 at the top): a million queued background jobs with
# unique ids: RSS per job; a batch on top of them; then the drain.
s_mem() {
	local t=$1
	say "  $t: $n_mem queued jobs with unique ids"
	g -c 4 -W 64 -n "$n_mem" -U "m-" -f mem submit || return
	rec "$t.mem.fill" "${R[rate]}"
	rec "$t.mem.srvus" "${R[srv_us_per_job]}"
	rec "$t.mem.bytes" "$(awk -v a="${R[rss_before_kb]}" \
	    -v b="${R[rss_after_kb]}" -v n="$n_mem" \
	    'BEGIN { printf "%.0f", (b - a) * 1024 / n }')"
	# The floor gives any job to any worker: no batch of another function.
	[ "$t" = fifo ] && return
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

# Run one server scenario against gm, gearmand (and for mem the floor),
# each on a fresh server.
pair() {
	local s=$1 t
	for t in gm gearmand $([ "$s" = mem ] && echo fifo); do
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
# one `gm-submit --all` timed from start to exit (ms), every reply checked;
# then one `gm-submit -b --all` (a durable job per member, the journal
# syncing every record) timed to its exit, when every handle is back, and
# to the moment the server has none of them left (polled every 20 ms).
n_members=100
s_bcast() {
	local i p t0 t1 t2 n mp=()
	[ -n "$gm_ok" ] || return 0
	say "  gm: broadcast to $n_members members"
	rm -rf "$work/jbc"
	start gm --journal "$work/jbc" || return 1
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
		t0=$(ms)
		"$gmsubmit" -h 127.0.0.1 -p "$sport" -t 60000 -b --all -f bc \
		    hello >"$work/bcb.out" 2>"$work/bcb.err"
		t1=$(ms)
		n=$(grep -c '^m[0-9]*: [^ ]*:[0-9]*$' "$work/bcb.out")
		if [ "$n" != "$n_members" ]; then
			fail "bcast -b: $n handles of $n_members: $(tail -1 \
			    "$work/bcb.err")"
		elif ! wait_for 60 eval '"$top/build/bin/gm-admin" -h \
		    127.0.0.1 -p "$sport" --raw status | grep -q \
		    "^bc	0	0	"'; then
			fail "bcast -b: the members did not run their jobs"
		else
			t2=$(ms)
			rec gm.bcastbg.ms "$((t1 - t0))"
			rec gm.bcastbgran.ms "$((t2 - t0))"
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

# cond RATIO SPEC: "met" when RATIO satisfies SPEC (">=0.9", "<=1.1").
cond() {
	awk -v r="$1" -v t="$2" 'BEGIN { op = substr(t, 1, 2)
	    v = substr(t, 3) + 0; r += 0
	    print (op == "<=" ? r <= v : r >= v) ? "met" : "MISSED" }'
}

# cell KEY: "median min-max" of KEY, or "- -".
cell() {
	local st
	st=$(stats "$1")
	if [ -z "$st" ]; then
		echo "- -"
		return
	fi
	set -- $st
	echo "$(fmt "$1") $(fmt "$2")-$(fmt "$3")"
}

# ratio A B: A/B of two numbers, or "-".
ratio() {
	if [ -z "$1" ] || [ -z "$2" ]; then
		echo -
		return
	fi
	awk -v a="$1" -v b="$2" \
	    'BEGIN { if (b != 0) printf "%.2f", a / b; else print "-" }'
}

# crow ROW LOOP KEY_GM KEY_GD KEY_FLOOR TARGET: one line of the core
# table.  Keys end in the metric (gm.bg.rate); the server's CPU per job is
# the same key ending in srvus.  TARGET: space-separated conditions on
# gm/gd ("gd>=1.0"), gm/floor ("fl<=1.1") or the gm figure ("gm>=0.9").
crow() {
	local rowname=$1 loop=$2 kg=$3 kd=$4 kf=$5 target=$6
	local mg md mf rd rf cg cd cf c v verdict=
	mg=$(stats "$kg" | cut -d' ' -f1)
	md=$(stats "$kd" | cut -d' ' -f1)
	mf=$(stats "$kf" | cut -d' ' -f1)
	rd=$(ratio "$mg" "$md")
	rf=$(ratio "$mg" "$mf")
	cg=$(fmt "$(stats "${kg%.*}.srvus" | cut -d' ' -f1)")
	cd=$(fmt "$(stats "${kd%.*}.srvus" | cut -d' ' -f1)")
	cf=$(fmt "$(stats "${kf%.*}.srvus" | cut -d' ' -f1)")
	for c in $target; do
		case $c in
		gd*) v=$rd ;;
		fl*) v=$rf ;;
		gm*) v=$mg ;;
		esac
		if [ "$v" = - ] || [ -z "$v" ]; then
			verdict=n/a
			break
		fi
		[ "$(cond "$v" "${c#??}")" = met ] || verdict=MISSED
	done
	[ -n "$target" ] && [ -z "$verdict" ] && verdict=met
	printf "$cfmt" "$rowname" "$loop" $(cell "$kg") $(cell "$kd") \
	    $(cell "$kf") "$rd" "$rf" "$cg" "$cd" "$cf" \
	    "${target// /,}" "$verdict"
}
cfmt='%-24s %-10s %8s %-15s %8s %-15s %8s %-15s %5s %8s %6s %6s %9s  %-16s %s\n'

# The core table: every row against gearmand and the floor.
core_table() {
	echo "core rows: gm = gm-server --journal none (durable rows: its" \
	    "default journal, fsync before JOB_CREATED); gd = gearmand" \
	    "$gd_ver $gd_opts; floor = tests/bench/fifo"
	echo "cells: median and min-max over the rounds; gm/gd, gm/floor:" \
	    "ratios of the medians (above 1 is better for jobs_s, below 1" \
	    "for us, B and ms); cpu_*: the server's CPU per job, us (median," \
	    "utime+stime from /proc/PID/stat); loop: the worker loop (gen =" \
	    "gmbench's, libgearman = tests/bench/lgworker); latency rows pin" \
	    "server, client and worker to CPU $pincpu"
	echo
	printf "$cfmt" row loop gm gm_range gd gd_range floor floor_range \
	    gm/gd gm/floor cpu_gm cpu_gd cpu_floor target verdict
	crow fg_lat_p50_us_pinned gen gm.lat.p50 gearmand.lat.p50 \
	    fifo.lat.p50 "gd<=0.85 fl<=1.1"
	crow fg_lat_p50_us_pinned libgearman gm.lglat.p50 gearmand.lglat.p50 \
	    fifo.lglat.p50 "gd<=0.85 fl<=1.1"
	crow fg_lat_p99_us_pinned gen gm.lat.p99 gearmand.lat.p99 \
	    fifo.lat.p99 ""
	crow fg_lat_p99_us_pinned libgearman gm.lglat.p99 gearmand.lglat.p99 \
	    fifo.lglat.p99 ""
	crow drain_8w_jobs_s gen gm.drain.rate gearmand.drain.rate \
	    fifo.drain.rate "gd>=1.0 fl>=0.9"
	crow drain_8w_jobs_s libgearman gm.lgdrain.rate \
	    gearmand.lgdrain.rate fifo.lgdrain.rate "gd>=1.0 fl>=0.9"
	crow drain_8w_8grabs_jobs_s gen gm.drainpipe.rate \
	    gearmand.drainpipe.rate fifo.drainpipe.rate ""
	crow bg_e2e_jobs_s gen gm.bg.rate gearmand.bg.rate fifo.bg.rate \
	    "gd>=1.0 fl>=0.9"
	crow bg_e2e_jobs_s libgearman gm.lgbg.rate gearmand.lgbg.rate \
	    fifo.lgbg.rate "gd>=1.0 fl>=0.9"
	crow bg_e2e_8grabs_jobs_s gen gm.bgpipe.rate gearmand.bgpipe.rate \
	    fifo.bgpipe.rate ""
	crow bg_durable_jobs_s gen gmj.bg.rate gearmand.bg.rate fifo.bg.rate \
	    "gd>=1.0"
	crow bg_durable_jobs_s libgearman gmj.lgbg.rate gearmand.lgbg.rate \
	    fifo.lgbg.rate "gd>=1.0"
	crow bg_durable/gm_memory gen gmj.bgmem.ratio - - "gm>=0.9"
	crow bg_durable/gm_memory libgearman gmj.lgbgmem.ratio - - "gm>=0.9"
	crow submit_jobs_s gen gm.submit.rate gearmand.submit.rate \
	    fifo.submit.rate ""
	crow fg_16c_8w_jobs_s gen gm.fg.rate gearmand.fg.rate fifo.fg.rate ""
	crow mem_bytes_per_job gen gm.mem.bytes gearmand.mem.bytes \
	    fifo.mem.bytes ""
	crow bcast_${n_members}_ms gm-work gm.bcast.ms - - ""
	crow bcast_bg_durable_${n_members}_ms gm-work gm.bcastbg.ms - - ""
	crow bcast_bg_all_ran_${n_members}_ms gm-work gm.bcastbgran.ms - - ""
}

# has GROUP: GROUP ran in this run.
has() {
	case " $only " in
	*" $1 "*) return 0 ;;
	esac
	return 1
}

# The results table: the core rows, then the groups that ran.
table() {
	local cpu mem
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' \
	    /proc/meminfo)
	echo "gm bench: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores" \
	    "($cpu), $mem, Linux $(uname -r)"
	echo "command: make bench (tests/bench/run.sh), $rounds rounds," \
	    "servers in turn within each round; groups: $only; payload 100" \
	    "bytes"
	echo "loadavg: before $load0; after $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "gm = ${gm_ver:-gm-server (not run)}"
	echo "gearmand settings tried (background end-to-end, $n_tune jobs):"
	printf '    %s\n' "${tune[@]}"
	echo
	core_table
	if has mem; then
		echo
		echo "A = gm-server --journal none, B = gearmand; cells: median" \
		    "(min-max); ratio = A/B of medians"
		printf '%-44s %-26s %-26s %6s  %-7s %-7s %s\n' scenario A B \
		    A/B target verdict cpu
		row "5b fill $n_mem unique-id jobs, jobs/s" gm.mem.fill \
		    gearmand.mem.fill ""
		row "5c drain $n_mem (8 workers x 8 grabs), s" gm.mem.drain \
		    gearmand.mem.drain ""
	fi
	if has conns; then
		row "6a RSS per idle connection, B" gm.conns.bytes \
		    gearmand.conns.bytes ""
		row "6b ECHO p50 with $n_conns open, us" gm.conns.echo50 \
		    gearmand.conns.echo50 ""
		row "6b ECHO p99 with $n_conns open, us" gm.conns.echo99 \
		    gearmand.conns.echo99 ""
		row "6c connect + ECHO with them open, us" gm.conns.newecho \
		    gearmand.conns.newecho ""
	fi
	if has scale; then
		row "7a wall us/job, batch over $n_pre queued" gm.scale10k.us \
		    gearmand.scale10k.us ""
		row "7b wall us/job, batch over $n_mem queued" gm.scale1m.us \
		    gearmand.scale1m.us ""
		row "7c server CPU us/job over $n_pre queued" \
		    gm.scale10k.srvus gearmand.scale10k.srvus ""
		row "7d server CPU us/job over $n_mem queued" \
		    gm.scale1m.srvus gearmand.scale1m.srvus ""
		row "7e CPU/job ratio 7d/7c (flat = 1)" gm.scale.flat \
		    gearmand.scale.flat "A<=1.25"
	fi
	if has tools; then
		echo
		echo "tools (both against gearmand; A = gm tool, B = gearman" \
		    "tool):"
		row "8a -n over $n_tool lines, s" tool.submit.gm \
		    tool.submit.gearman "<=0.1"
		row "8b worker 'cat' x $n_tool jobs, s" tool.work.gm \
		    tool.work.gearman ""
		row "8c gm-work -j 2 'cat' x $n_tool, s" tool.work.gmj2 \
		    tool.work.gearman ""
		echo "gm-work -C and --stream (issue 13; A = the mode, B = a" \
		    "process per job: 8b's A, or gearman -w):"
		row "8d -C 'cat' x $n_tool vs per-job, s" tool.work.gmco \
		    tool.work.gm "<=0.033"
		row "8e -C -j 4 'cat' x $n_tool vs per-job, s" tool.work.gmco4 \
		    tool.work.gm "<=0.033"
		row "8f --stream x $n_tool bg vs per-job, s" \
		    tool.work.gmstream tool.work.gm "<=0.033"
		row "8g -C 'cat' x $n_tool vs gearman -w, s" tool.work.gmco \
		    tool.work.gearman ""
		row "8h --stream x $n_tool vs gearman -w, s" \
		    tool.work.gmstream tool.work.gearman ""
	fi
	if has journal; then
		echo
		echo "durability (issue 5), background end-to-end, jobs/s:"
		row "J3 gm durable vs B -q libsqlite3" gm.dur.rate \
		    gearmand.sql.rate ">=50"
		row "J4 gm --journal-sync 10 vs B in memory" gm.relax.rate \
		    gearmand.bg.rate ""
		row "J5 submit only, $n_mem unique: durable/B" \
		    gm.durfill.rate gearmand.mem.fill ""
		row "J6 replay $n_mem jobs after SIGKILL, s" gm.replay.secs "" \
		    "A<=5"
	fi
	if has tls; then
		echo
		echo "TLS (issue 15), background end-to-end on one gm-server:" \
		    "A = its TLS port (-S), B = its plain port:"
		row "T1 TLS vs plain, jobs/s" gm.tls.rate gm.tlsplain.rate "" \
		    cpu
		row "T2 server CPU us/job, TLS vs plain" gm.tls.srvus \
		    gm.tlsplain.srvus ""
	fi
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
*" core "*|*" mem "*|*" scale "*|*" conns "*|*" tools "*|*" journal "*)
	tune_gearmand
	say "gearmand: $gd_opts" ;;
*)	tune=("(none: no group runs gearmand)") ;;
esac
tools_checked= journal_checked=
for round in $(seq "$rounds"); do
	say "round $round of $rounds (loadavg $(cut -d' ' -f1-3 /proc/loadavg))"
	for s in $only; do
		case $s in
		core) round_core ;;
		mem|scale|conns) pair "$s" ;;
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
