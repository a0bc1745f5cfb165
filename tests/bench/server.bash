# Shared by the attack scripts of tests/bench/: start a gm-server on a free
# port of 127.0.0.1 with its log in a folder of its own, and stop it (only
# it) and remove the folder on exit.
#
# bench_server SERVER [ARGS...]: sets pid, port and work (the folder).
bench_server() {
	local server=$1
	shift
	work=$(mktemp -d /tmp/gm-attack.XXXXXX)
	"$server" -L 127.0.0.1 -p 0 --port-file "$work/port" -l "$work/log" \
	    --journal none "$@" </dev/null &
	pid=$!
	trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$work"' EXIT
	for _ in $(seq 500); do [ -s "$work/port" ] && break; sleep 0.02; done
	port=$(cat "$work/port")
}
