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

# rec_ratio KEY A B: record A / B of the current round's values of A and
# B, when both were recorded.
rec_ratio() {
	local a b
	a=$(awk -v k="$2" -v r="$round" '$1 == k && $2 == r { print $3 }' \
	    "$vals")
	b=$(awk -v k="$3" -v r="$round" '$1 == k && $2 == r { print $3 }' \
	    "$vals")
	[ -n "$a" ] && [ -n "$b" ] && rec "$1" \
	    "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", a / b }')"
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
	local t d
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
	rec_ratio gmj.bgmem.ratio gmj.bg.rate gm.bg.rate
	rec_ratio gmj.lgbgmem.ratio gmj.lgbg.rate gm.lgbg.rate
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

# The optional groups, broadcast and replay: tests/bench/groups.bash.
. "$top/tests/bench/groups.bash"

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

# Statistics and the tables: tests/bench/table.bash.
. "$top/tests/bench/table.bash"

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
		rec_ratio "$t.scale.flat" "$t.scale1m.srvus" "$t.scale10k.srvus"
	done
done

table | tee "$out"
[ ${#errors[@]} -eq 0 ]
