#!/usr/bin/env bats
# The unix-domain socket listener (-L unix:/path, --unix-mode): submit, work
# and admin through it, its file mode, a stale socket file, and the trust
# it carries.  gearmand has no unix socket: it takes the path for a host
# name and exits, as the first test shows.

bats_require_minimum_version 1.5.0
load helper

teardown_file() {
	kill_started
}

teardown() {
	spawn_kill
}

# usock NAME ARGS...: start gm-server on a unix socket $SOCK (and on
# 127.0.0.1, for the port file), with ARGS.
usock() {
	SOCK=$BATS_TEST_TMPDIR/$1.sock
	shift
	server_start u -L "unix:$SOCK" "$@"
}

@test "submit, work and admin through the unix socket (gearmand: not a host name)" {
	if is_gearmand; then
		run --separate-stderr "$GEARMAND" -L "unix:$BATS_TEST_TMPDIR/g.sock" \
		    -p 0 -l "$BATS_TEST_TMPDIR/g.log"
		assert_failure
		grep -q 'getaddrinfo(Name or service not known)' \
		    "$BATS_TEST_TMPDIR/g.log"
		return
	fi
	usock a
	spawn gm-work -h "unix:$SOCK" -f up -- tr a-z A-Z
	wait_until 15 eval "gm-admin -h 'unix:$SOCK' --raw status |
	    grep -q '^up	0	0	1\$'"
	run --separate-stderr gm-submit -h "unix:$SOCK" -f up hello
	assert_success
	assert_output HELLO
	run --separate-stderr gm-submit -h "unix:$SOCK" -b -f later x
	assert_success
	run gm-admin -h "unix:$SOCK" --raw status
	assert_output "$(printf 'up\t0\t0\t1\nlater\t1\t0\t0\n.')"
	run gm-admin -h "unix:$SOCK" --raw workers
	assert_line --regexp '^[0-9]+ unix [^ ]+ : up$'
	line_ends "$LOG_u" ": listening on unix:$SOCK (mode 660)"
}

@test "--unix-mode sets the socket's permissions; the file goes at exit" {
	gm_only
	usock m --unix-mode 0600
	run stat -c %a "$SOCK"
	assert_output 600
	[ -S "$SOCK" ]
	server_stop u
	[ ! -e "$SOCK" ]
	run --separate-stderr gm-server -L "unix:$BATS_TEST_TMPDIR/bad.sock" --unix-mode 0999 \
	    --journal none
	[ "$status" -eq 1 ]
	[ "$stderr" = "gm-server: unix socket mode 0999: want an octal mode such as 0660" ]
}

@test "a stale socket file is replaced; a live one or a regular file is refused" {
	gm_only
	usock s
	local live=$SOCK
	run --separate-stderr "$GM_BIN/gm-server" -L "unix:$live" -p 0 \
	    --journal none -l stderr
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"listen $live: another server answers there"* ]]
	kill -9 "$PID_u"
	wait "$PID_u" 2>/dev/null || true
	PID_u=
	[ -S "$live" ]
	PORT_u=
	server_start u -L "unix:$live"
	run gm-admin -h "unix:$live" --raw version
	assert_success
	: >"$BATS_TEST_TMPDIR/plain"
	run --separate-stderr "$GM_BIN/gm-server" \
	    -L "unix:$BATS_TEST_TMPDIR/plain" -p 0 --journal none -l stderr
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"listen $BATS_TEST_TMPDIR/plain: exists and is not a socket"* ]]
}

@test "the unix socket is a trusted peer: state-changing admin commands work" {
	gm_only
	usock t
	run gm-admin -h "unix:$SOCK" --raw create f1
	assert_output $'OK\r'
	run gmraw_unix "$SOCK" <<'EOF'
ADMIN maxqueue f1 5
ADMIN drop function f1
EOF
	assert_output '| OK\r
| OK\r'
}

# gmraw_unix PATH: the raw protocol tool through a unix socket.
gmraw_unix() {
	"$GM_BUILD/tests/tools/gmraw" -h "unix:$1" -p 1
}
