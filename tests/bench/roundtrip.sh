#!/usr/bin/env bash
# One foreground job's round trip, taken apart: a server started here, a
# worker process (gmbench worker: WORK_COMPLETE and the next GRAB_JOB
# written together) and a client (gmbench lat, one job at a time), all
# three pinned to CPU 0.  Prints the client's p50/p99 per round and, per
# job over all rounds, what perf stat counted in the server and in the
# worker: context switches, loop passes (epoll_wait), reads and writes.
# Timings swing with the machine's load; the counts do not, and they are
# what tests/bench/RESULTS.md ("Where the round trip goes") quotes.
#
# For gm-server, ROUNDTRIP_PROBE=1 also counts worker_noop calls with a
# uprobe (perf probe, as root): a job whose NOOP goes out at submission
# (1 per job) found its worker asleep; a NOOP sent in answer to a late
# PRE_SLEEP instead costs the job a further round trip.
#
# tests/bench/roundtrip.sh [-n jobs] [-r rounds] gm|gearmand|SERVER [ARGS...]
# Kills only the processes it started.
set -u
cd "$(dirname "$0")/../.." || exit 1
n=3000 rounds=3
while getopts n:r: o; do
	case $o in
	n) n=$OPTARG ;;
	r) rounds=$OPTARG ;;
	*) echo "usage: $0 [-n jobs] [-r rounds] gm|gearmand|SERVER [ARGS...]" >&2
	   exit 1 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "usage: $0 [-n jobs] [-r rounds] gm|gearmand|SERVER [ARGS...]" >&2; exit 1; }
srv=$1
shift
gmb=build/tests/bench/gmbench
[ -x "$gmb" ] || { echo "$0: build first (make all)" >&2; exit 1; }
command -v perf >/dev/null || { echo "$0: perf is needed" >&2; exit 1; }
work=$(mktemp -d /tmp/gm-roundtrip.XXXXXX)
pids=()
probe=
cleanup() {
	[ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null
	wait 2>/dev/null
	[ -n "$probe" ] && perf probe -q -d "$probe" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

if [ "$srv" = gearmand ]; then
	port=$("$gmb" port)
	taskset -c 0 gearmand -L 127.0.0.1 -p "$port" -t 0 -l "$work/log" \
	    "$@" </dev/null &
	spid=$!
	pids+=("$spid")
	for _ in $(seq 500); do
		"$gmb" -p "$port" -n 1 conns >/dev/null 2>&1 && break
		sleep 0.02
	done
else
	[ "$srv" = gm ] && srv=build/bin/gm-server
	taskset -c 0 "$srv" -L 127.0.0.1 -p 0 --port-file "$work/port" \
	    -l "$work/log" "$@" </dev/null &
	spid=$!
	pids+=("$spid")
	for _ in $(seq 500); do [ -s "$work/port" ] && break; sleep 0.02; done
	port=$(cat "$work/port")
	if [ "${ROUNDTRIP_PROBE:-0}" = 1 ] &&
	    perf probe -q -x "$srv" -a rt_noop=worker_noop 2>/dev/null; then
		probe=$(perf probe -l 2>/dev/null |
		    awk '$1 ~ /:rt_noop$/ { print $1; exit }')
	fi
fi
taskset -c 0 "$gmb" -p "$port" -w 1 -f rt worker >/dev/null 2>&1 &
wpid=$!
pids+=("$wpid")
"$gmb" -p "$port" -n 1 conns >/dev/null || exit 1

ev=context-switches,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_read
ev=$ev,syscalls:sys_enter_recvfrom,syscalls:sys_enter_write
ev=$ev,syscalls:sys_enter_writev,syscalls:sys_enter_sendto${probe:+,$probe}
# count NAME PID: perf stat counts ev in process PID into $work/NAME, from
# when it has acknowledged "enable" on its control FIFO; sets cpid.
count() {
	local cfd afd ack=
	mkfifo "$work/$1.ctl" "$work/$1.ack" || exit 1
	perf stat -x, -e "$ev" -D -1 \
	    --control "fifo:$work/$1.ctl,$work/$1.ack" -p "$2" \
	    -o "$work/$1" 2>"$work/$1.err" &
	cpid=$!
	exec {cfd}<>"$work/$1.ctl" {afd}<>"$work/$1.ack"
	echo enable >&"$cfd"
	for _ in $(seq 30); do
		read -r -t 1 -u "$afd" ack && break
		kill -0 "$cpid" 2>/dev/null || break
	done
	exec {cfd}>&- {afd}<&-
	[ "$ack" = ack ] ||
	    { echo "$0: perf stat: $(tail -1 "$work/$1.err")" >&2; exit 1; }
}
count server "$spid"
ps=$cpid
count worker "$wpid"
pw=$cpid
for _ in $(seq "$rounds"); do
	taskset -c 0 "$gmb" -p "$port" -P "$spid" -w 0 -n "$n" -f rt lat |
	    tr ' ' '\n' | grep -E '^(p50|p99)_us=' | tr '\n' ' '
	echo
done
kill -INT "$ps" "$pw"
wait "$ps" "$pw" 2>/dev/null
echo "per job, over $rounds x $n jobs:"
for f in server worker; do
	printf '%-7s' "$f"
	awk -F, -v n=$((rounds * n)) '/^[0-9]/ {
		sub(/^syscalls:sys_enter_/, "", $3); sub(/^.*:/, "", $3)
		printf " %s %.2f", $3, $1 / n } END { print "" }' "$work/$f"
done
