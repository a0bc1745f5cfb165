#!/usr/bin/env bash
# The stream fuzzer (make fuzz-stream): the sanitizer build of gm-server,
# with a journal, listens on this namespace's address on the test bed of
# hosts (tests/netns.bash); tests/tools/gmstream sends it mutated streams
# from another host of the bed for SECONDS, so the peer is not a loopback
# one and a fuzzed `shutdown` must be refused.  Then the server must still
# answer, stop cleanly on SIGTERM and have written no sanitizer report.
# Needs root (ip netns; without it, exit 2 with the reason).  Removes what
# it created, even on failure.
#
# tests/fuzz/stream.sh SECONDS
set -u
cd "$(dirname "$0")/../.."
top=$PWD
seconds=${1:?usage: tests/fuzz/stream.sh SECONDS}
server=$top/build-san/bin/gm-server
stream=$top/build/tests/tools/gmstream
raw=$top/build/tests/tools/gmraw
[ -x "$server" ] && [ -x "$stream" ] || { echo "build first (make all san)" >&2; exit 2; }
work=$(mktemp -d /tmp/gm-stream.XXXXXX)
pid=

cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

# The test bed of hosts (tests/netns.bash): this namespace as host "srv",
# the fuzzer on host "fz"; the bed goes with this script's exit.
. tests/netns.bash
netns_bed =srv fz || { echo "stream.sh: cannot make the test bed" >&2; exit 2; }
if [ ! -e "$NETNS_DIR/ready" ]; then
	echo "stream.sh: $(cat "$NETNS_DIR/reason")" >&2
	exit 2
fi
host_ip=$NETNS_IP_srv
ns_ip=$NETNS_IP_fz

export ASAN_OPTIONS="log_path=$work/asan:detect_leaks=1"
export UBSAN_OPTIONS="log_path=$work/ubsan:print_stacktrace=1"
"$server" -L "$host_ip" -p 0 --port-file "$work/port" -l "$work/log" \
    --journal "$work/journal" --max-packet 1M </dev/null &
pid=$!
for _ in $(seq 500); do [ -s "$work/port" ] && break; sleep 0.02; done
[ -s "$work/port" ] || { echo "gm-server did not start" >&2; cat "$work/log"; exit 1; }
port=$(cat "$work/port")

status=0
echo "stream fuzzer: ${seconds} s from $ns_ip against $host_ip:$port" >&2
netns_run fz "$stream" -h "$host_ip" -p "$port" -s "$seconds" \
    tests/fuzz/corpus/conn tests/fuzz/corpus/proto tests/fuzz/corpus/admin ||
    status=1

# Alive, and it answers from the namespace too.
if ! kill -0 "$pid" 2>/dev/null; then
	echo "gm-server died" >&2
	status=1
elif [ "$(printf 'REQ ECHO_REQ alive\nWAIT 1\n' |
    netns_run fz "$raw" -h "$host_ip" -p "$port")" != 'ECHO_RES alive' ]; then
	echo "gm-server does not answer" >&2
	status=1
fi
refused=$(grep -c 'shutdown refused' "$work/log")
echo "shutdowns refused: $refused (in the log: at most 10 per 10 s, then a count)"
kill -TERM "$pid"
wait "$pid"
rc=$?
pid=
[ "$rc" = 0 ] || { echo "gm-server exited with status $rc" >&2; status=1; }
for f in "$work"/asan* "$work"/ubsan*; do
	[ -e "$f" ] || continue
	echo "sanitizer report $f:" >&2
	head -60 "$f" >&2
	status=1
done
echo "log: $(wc -l <"$work/log") lines; last:"
tail -3 "$work/log"
[ $status = 0 ] && echo "stream fuzzer: no crash, no sanitizer report" >&2
exit $status
