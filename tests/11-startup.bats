#!/usr/bin/env bats
# gm-server's start-up fails loudly: with -d every check runs before it
# detaches, so the reason reaches stderr and the exit status is non-zero;
# with -l FILE start-up errors reach stderr too.  -u run as root opens what
# needs root first and cleans up its pid file when it fails.  Peer bytes in
# log lines are escaped.  gm-server only, but for the taken port, where
# gearmand -d is shown exiting 0 with nothing on stderr.

bats_require_minimum_version 1.5.0
load helper

setup() {
	D=$BATS_TEST_TMPDIR
	# Every test but the taken port's is about gm-server alone.
	[[ "$BATS_TEST_DESCRIPTION" == "-d on a port that is taken"* ]] ||
	    gm_only "gm-server's start-up and log"
}

teardown_file() {
	kill_started
}

teardown() {
	local pid
	# A daemon started by a test: stop it by the pid in its pid file.
	for f in "${BATS_TEST_TMPDIR:-/nonexistent}"/*.pid; do
		[ -s "$f" ] || continue
		pid=$(cat "$f")
		kill -TERM "$pid" 2>/dev/null &&
		    wait_until 10 eval "! pid_alive $pid"
	done
	[ -z "${UDIR:-}" ] || rm -rf "$UDIR"
	true
}

@test "-d returns 0 only once the server serves: port and pid files are there" {
	run --separate-stderr gm-server -d -L 127.0.0.1 -p 0 --journal none \
	    --port-file "$D/port" -P "$D/d.pid" -l "$D/log"
	assert_success
	[ -z "$stderr" ]
	[ -s "$D/port" ] && [ -s "$D/d.pid" ]
	run admin "$(cat "$D/port")" getpid
	assert_output "OK $(cat "$D/d.pid")"
}

@test "-d with a journal folder another server holds: non-zero, reason on stderr" {
	JOURNAL_h="$D/j" server_start h
	run --separate-stderr gm-server -d -L 127.0.0.1 -p 0 --journal "$D/j" \
	    -P "$D/h2.pid"
	assert_failure 1
	assert_equal "$stderr" "gm-server: journal directory $D/j is in use by another gm-server (pid $PID_h)"
	[ ! -e "$D/h2.pid" ]
}

@test "-d on a port that is taken: non-zero, reason on stderr (gearmand: exit 0, silence)" {
	if is_gearmand; then
		local port
		port_hold
		port=$HELD_PORT
		spawn perl -MIO::Socket::INET -e '
		    my $s = IO::Socket::INET->new(Listen => 1,
		        LocalAddr => "127.0.0.1", ReuseAddr => 1,
		        LocalPort => $ARGV[0]) or die; sleep 60' "$port"
		wait_until 10 port_open "$port"
		run --separate-stderr "$GEARMAND" -d -L 127.0.0.1 -p "$port" \
		    -l "$D/glog" --pid-file "$D/g.pid"
		assert_success
		[ -z "$stderr" ]
		return
	fi
	server_start p
	run --separate-stderr gm-server -d -L 127.0.0.1 -p "$PORT_p" \
	    --journal none
	assert_failure 1
	assert_equal "$stderr" "gm-server: listen on 127.0.0.1 port $PORT_p: Address already in use"
}

@test "-d with a pid file that cannot be written: non-zero, reason on stderr" {
	mkdir "$D/piddir"
	run --separate-stderr gm-server -d -L 127.0.0.1 -p 0 --journal none \
	    -P "$D/piddir"
	assert_failure 1
	assert_equal "$stderr" "gm-server: pid file $D/piddir: Is a directory"
	run --separate-stderr gm-server -d -L 127.0.0.1 -p 0 --journal none \
	    -P "$D/nodir/x.pid"
	assert_failure 1
	assert_equal "$stderr" "gm-server: pid file $D/nodir/x.pid: No such file or directory"
}

@test "-l FILE in the foreground: start-up errors reach stderr and the file" {
	server_start f
	run --separate-stderr gm-server -L 127.0.0.1 -p "$PORT_f" --journal none \
	    -l "$D/flog"
	assert_failure 1
	assert_equal "$stderr" "gm-server: listen on 127.0.0.1 port $PORT_f: Address already in use"
	line_ends "$D/flog" ": listen on 127.0.0.1 port $PORT_f: Address already in use"
}

@test "a function name and a client id with a newline and escapes are logged escaped" {
	server_start e -v DEBUG
	printf 'REQ SET_CLIENT_ID "id\\nFORGED id line \\x1b[31m"\nREQ CAN_DO "fn\\nFORGED fn line\\x1b]0;t\\x07\\\\x"\nREQ ECHO_REQ x\nWAIT 1\n' |
	    raw -p "$PORT_e"
	wait_until 10 grep -q 'worker_can_do' "$LOG_e"
	run grep -c '^FORGED' "$LOG_e"
	assert_output 0
	run grep -cF 'conn_set_client_id: fd ' "$LOG_e"
	assert_output 1
	run grep -F '(127.0.0.1): id\x0aFORGED id line \x1b[31m' "$LOG_e"
	assert_success
	run grep -F '(127.0.0.1): fn\x0aFORGED fn line\x1b]0;t\x07\x5cx' "$LOG_e"
	assert_success
	[ "$(grep -c . "$LOG_e")" = "$(wc -l <"$LOG_e")" ]
	! grep -q $'\x1b' "$LOG_e"
}

@test "-u as root: the journal folder is made the user's, the server runs as the user" {
	[ "$(id -u)" = 0 ] || skip "needs root"
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	# A folder the user can reach (a test's own may not be).
	UDIR=$(mktemp -d /tmp/gm-user.XXXXXX)
	chmod 755 "$UDIR"
	mkdir "$UDIR/run"
	chown nobody "$UDIR/run"
	run --separate-stderr gm-server -d -u nobody -L 127.0.0.1 -p 0 \
	    --journal "$UDIR/journal" -P "$UDIR/run/gm.pid" \
	    --port-file "$UDIR/run/port" -l "$UDIR/run/log"
	assert_success
	run stat -c %U "$UDIR/journal"
	assert_output nobody
	run ps -o user= -p "$(cat "$UDIR/run/gm.pid")"
	assert_output nobody
	run gm-submit -h "127.0.0.1:$(cat "$UDIR/run/port")" -b -f uf x
	assert_success
	ls "$UDIR/journal"/seg-*.jnl >/dev/null
	run stat -c %U "$(ls "$UDIR/journal"/seg-*.jnl | head -1)"
	assert_output nobody
	kill -TERM "$(cat "$UDIR/run/gm.pid")"
	wait_until 10 eval "! pid_alive $(cat "$UDIR/run/gm.pid")"
}

@test "-u as root with a journal the user cannot open: reason on stderr, no pid file left" {
	[ "$(id -u)" = 0 ] || skip "needs root"
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	UDIR=$(mktemp -d /tmp/gm-user.XXXXXX)
	chmod 755 "$UDIR"
	mkdir -m 700 "$UDIR/journal"
	run --separate-stderr gm-server -d -u nobody -L 127.0.0.1 -p 0 \
	    --journal "$UDIR/journal" -P "$UDIR/gm.pid"
	assert_failure 1
	[[ "$stderr" == "gm-server: journal"*"$UDIR/journal"*"Permission denied"* ]]
	[ ! -e "$UDIR/gm.pid" ]
	run --separate-stderr gm-server -u no-such-user-gm --journal none
	assert_failure 1
	assert_equal "$stderr" "gm-server: unknown user no-such-user-gm"
}
