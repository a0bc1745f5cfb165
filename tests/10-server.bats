#!/usr/bin/env bats
# gm-server itself: options, signals, logging, shutdown, limits and
# malformed input.  Protocol checks run against gearmand too; options and
# behaviour only gm-server has are gm_only.

bats_require_minimum_version 1.5.0
load helper

setup_file() {
	server_start s
	export PORT_s PID_s LOG_s DIR_s
}

teardown_file() {
	kill_started
}

# gms ARGS...: run gm-server in the foreground (usage, version).
gms() {
	"$GM_BIN/gm-server" "$@"
}

# start_bg NAME ARGS...: start gm-server by hand (no -L unless given);
# sets BG_PID and BG_DIR, waits for the port file.
start_bg() {
	BG_DIR="$BATS_TEST_TMPDIR/$1"
	shift
	mkdir -p "$BG_DIR"
	"$GM_BIN/gm-server" -p 0 --port-file "$BG_DIR/port" -l "$BG_DIR/log" \
	    --journal none "$@" 3>&- </dev/null &
	BG_PID=$!
	echo "$BG_PID" >>"$BATS_FILE_TMPDIR/pids"
	wait_until 20 test -s "$BG_DIR/port"
}

@test "-h prints the usage to stdout and exits 0" {
	gm_only
	run --separate-stderr gms -h
	assert_success
	assert_output --partial 'usage: gm-server [-dhRV]'
	[ -z "$stderr" ]
}

@test "a bad option prints the usage to stderr and exits 1" {
	gm_only
	run --separate-stderr gms --bogus-opt
	assert_failure 1
	[ -z "$output" ]
	[[ $stderr == *"usage: gm-server"* ]]
}

@test "-V prints the version" {
	gm_only
	run gms -V
	assert_success
	assert_output --regexp '^gm-server [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "-t and -q are accepted with a one-line notice each" {
	gm_only
	run --separate-stderr gms -t 4 -q builtin -V
	assert_success
	[ "$(grep -c 'ignored' <<<"$stderr")" = 2 ]
	[[ $stderr == *"-t 4 ignored"* ]]
	[[ $stderr == *"-q builtin ignored"* ]]
}

@test "-p 0 and --port-file: the port file names the port it listens on" {
	gm_only
	[ "$(cat "$DIR_s/port")" = "$PORT_s" ]
	run admin "$PORT_s" version
	assert_output "OK $("$GM_BIN/gm-server" -V | cut -d' ' -f2)"
	line_ends "$LOG_s" ": listening on 127.0.0.1:$PORT_s"
}

@test "without -L it listens on localhost only, and logs where" {
	gm_only
	start_bg nol
	port=$(cat "$BG_DIR/port")
	run admin "$port" version
	assert_output --partial 'OK '
	cat "$BG_DIR/log"	# shown only when the test fails
	# exactly one listening socket, on 127.0.0.1
	[ "$(grep -c 'listening on' "$BG_DIR/log")" = 1 ]
	line_ends "$BG_DIR/log" ": listening on 127.0.0.1:$port"
	kill -TERM "$BG_PID"
	wait_until 10 eval "! pid_alive $BG_PID"
}

@test "-L is repeatable and takes IPv6 addresses" {
	gm_only
	ip -6 addr show lo 2>/dev/null | grep -q '::1' || skip "no ::1"
	start_bg v6 -L 127.0.0.1 -L ::1
	port=$(cat "$BG_DIR/port")
	line_ends "$BG_DIR/log" ": listening on [::1]:$port"
	run "$GM_BUILD/tests/tools/gmraw" -h ::1 -p "$port" <<<'ADMIN version'
	assert_success
	assert_output --partial '| OK '
	run "$GM_BUILD/tests/tools/gmraw" -h 127.0.0.1 -p "$port" \
	    <<<'ADMIN version'
	assert_output --partial '| OK '
	kill -TERM "$BG_PID"
	wait_until 10 eval "! pid_alive $BG_PID"
}

@test "-d detaches, -P writes the pid file, SIGTERM removes it" {
	gm_only
	local d="$BATS_TEST_TMPDIR/daemon" pid
	mkdir -p "$d"
	# Relative paths still work after daemon() moved to /.
	run bash -c "cd '$d' && exec '$GM_BIN/gm-server' -d -P pid \
	    -L 127.0.0.1 -p 0 --port-file port -l log --journal none" \
	    3>&- </dev/null
	assert_success
	wait_until 10 test -s "$d/pid"
	wait_until 10 test -s "$d/port"
	pid=$(cat "$d/pid")
	echo "$pid" >>"$BATS_FILE_TMPDIR/pids"
	run admin "$(cat "$d/port")" getpid
	assert_output "OK $pid"
	kill -TERM "$pid"
	wait_until 10 eval "! pid_alive $pid"
	[ ! -e "$d/pid" ]
	[ ! -e "$d/port" ]
	grep -q 'gm-server stopped' "$d/log"
}

@test "a second server with the same -P pid file refuses to start" {
	gm_only
	local d="$BATS_TEST_TMPDIR/pid2"
	mkdir -p "$d"
	start_bg pid1 -L 127.0.0.1 -P "$d/pid"
	wait_until 10 test -s "$d/pid"
	run "$GM_BIN/gm-server" -L 127.0.0.1 -p 0 -P "$d/pid" -l "$d/log" \
	    --journal none 3>&- </dev/null
	assert_failure 1
	assert_output --partial "already running as pid $BG_PID"
	kill -TERM "$BG_PID"
	wait_until 10 eval "! pid_alive $BG_PID"
}

@test "-l FILE logs there in the foreground; SIGHUP reopens it" {
	gm_only
	grep -q 'started' "$LOG_s"
	mv "$LOG_s" "$LOG_s.1"
	kill -HUP "$PID_s"
	wait_until 10 grep -q 'log file reopened' "$LOG_s"
	run admin "$PORT_s" version
	assert_output --partial 'OK '
}

@test "SIGTERM and SIGINT stop the server with status 0" {
	gm_only
	server_start t1
	server_stop t1 TERM
	[ "$SERVER_STATUS" = 0 ]
	server_start t2
	server_stop t2 INT
	[ "$SERVER_STATUS" = 0 ]
	grep -q 'gm-server stopped' "$LOG_t2"
}

@test "--job-handle-prefix replaces the whole handle prefix" {
	server_start hp --job-handle-prefix TESTPFX
	run raw -n -p "$PORT_hp" <<'EOF'
REQ SUBMIT_JOB_BG f "" x
WAIT 1
EOF
	assert_success
	assert_output 'JOB_CREATED TESTPFX:1'
}

@test "-j 2: a job that lost two workers is dropped, failed and logged" {
	server_start j -j 2
	run raw -p "$PORT_j" <<'EOF'
REQ SUBMIT_JOB jf "" x
WAIT 1
@2 REQ CAN_DO jf
@2 REQ GRAB_JOB
@2 WAIT 1
@2 CLOSE
@3 REQ CAN_DO jf
@3 POLL JOB_ASSIGN REQ GRAB_JOB
@3 CLOSE
WAIT 1
@4 ADMIN status
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
@2 JOB_ASSIGN H:HOST:1 jf x
@3 JOB_ASSIGN H:HOST:1 jf x
WORK_FAIL H:HOST:1
@4 | jf\t0\t0\t0
@4 | .'
	if is_gm; then
		grep -qF "job $(host_prefix "$PORT_j"):1 (function jf) dropped after 2 attempts" \
		    "$LOG_j"
	fi
}

@test "shutdown from loopback answers OK and stops the server (status 0)" {
	gm_only
	server_start sd
	run admin "$PORT_sd" shutdown
	assert_output $'OK\r'
	local st=0
	wait "$PID_sd" || st=$?
	[ "$st" = 0 ]
	grep -q 'shutdown requested by 127.0.0.1' "$LOG_sd"
}

@test "shutdown graceful waits for running jobs and refuses new connections" {
	gm_only
	# Its port stays held after it stops: no other server answers there.
	port_hold
	PORT_sg=$HELD_PORT
	server_start sg
	run raw -p "$PORT_sg" <<'EOF'
REQ SUBMIT_JOB gf "" x
WAIT 1
@2 REQ CAN_DO gf
@2 REQ GRAB_JOB
@2 WAIT 1
@3 ADMIN shutdown graceful
@2 SYNC
@2 REQ WORK_COMPLETE H:HOST:1 done
WAIT 1
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
@2 JOB_ASSIGN H:HOST:1 gf x
@3 | OK\r
WORK_COMPLETE H:HOST:1 done'
	run admin "$PORT_sg" version
	assert_failure
	local st=0
	wait "$PID_sg" || st=$?
	[ "$st" = 0 ]
	grep -q 'graceful shutdown: no job running, stopping' "$LOG_sg"
}

@test "shutdown from a non-loopback peer is refused" {
	gm_only
	local addr
	addr=$(ip -4 -o addr show scope global 2>/dev/null |
	    awk '{ sub(/\/.*/, "", $4); print $4; exit }')
	[ -n "$addr" ] || skip "no non-loopback IPv4 address"
	start_bg nl -L "$addr"
	port=$(cat "$BG_DIR/port")
	run "$GM_BUILD/tests/tools/gmraw" -h "$addr" -p "$port" <<'EOF'
ADMIN shutdown
ADMIN shutdown graceful
ADMIN version
EOF
	assert_success
	assert_output "| ERR NOT_PERMITTED shutdown+needs+a+trusted+peer\\r
| ERR NOT_PERMITTED shutdown+needs+a+trusted+peer\\r
| OK $(gms -V | cut -d' ' -f2)"
	pid_alive "$BG_PID"
	grep -q 'admin shutdown refused: not a trusted peer' "$BG_DIR/log"
	kill -TERM "$BG_PID"
	wait_until 10 eval "! pid_alive $BG_PID"
}

@test "an admin reply reaches a client that half-closes (nc -N)" {
	gm_only "gearmand may close before it answers"
	run bash -c "printf 'version\nstatus\nbogus\n' | nc -N 127.0.0.1 $PORT_s"
	assert_success
	assert_output --regexp $'^OK [0-9.]+\n(.*\n)*\\.\nERR UNKNOWN_COMMAND Unknown\\+server\\+commandbogus\r$'
}

@test "bad magic closes that connection only" {
	run raw -p "$PORT_s" <<'EOF'
RAW \0REX\0\0\0\x10\0\0\0\0
CLOSED
@2 REQ ECHO_REQ alive
@2 WAIT 1
EOF
	assert_success
	assert_output 'CLOSED
@2 ECHO_RES alive'
	if is_gm; then grep -q 'closing connection: bad magic' "$LOG_s"; fi
}

@test "an unknown packet type closes that connection only" {
	run raw -p "$PORT_s" <<'EOF'
RAW \0REQ\0\0\0\x63\0\0\0\0
CLOSED
@2 REQ ECHO_REQ alive
@2 WAIT 1
EOF
	assert_success
	assert_output 'CLOSED
@2 ECHO_RES alive'
	if is_gm; then
		grep -q 'closing connection: unknown packet type 99' "$LOG_s"
	fi
}

@test "a packet over --max-packet gets ERROR and is closed" {
	gm_only
	server_start mp --max-packet 1K
	run raw -p "$PORT_mp" <<'EOF'
REQ ECHO_REQ x\{1024}
WAIT 1
REQ ECHO_REQ y\{1025}
WAIT 1
CLOSED
@2 REQ ECHO_REQ alive
@2 WAIT 1
EOF
	assert_success
	assert_output --regexp '^ECHO_RES <1024 bytes fnv1a=[0-9a-f]+>
ERROR ARGUMENT_TOO_LARGE "Packet too large"
CLOSED
@2 ECHO_RES alive$'
	grep -q 'ECHO_REQ packet of 1025 bytes is over the 1024 byte limit' \
	    "$LOG_mp"
}

@test "a truncated packet from a peer that leaves harms nobody" {
	run raw -p "$PORT_s" <<'EOF'
RAW \0REQ\0\0\0\x07\0\0\0\x64fn\0
CLOSE
@2 REQ ECHO_REQ alive
@2 WAIT 1
EOF
	assert_success
	assert_output '@2 ECHO_RES alive'
}

@test "a body missing its NUL separators closes the connection" {
	gm_only "gearmand waits for more bytes, then reads into the next packet"
	run raw -p "$PORT_s" <<'EOF'
REQ SUBMIT_JOB fnonly
CLOSED
@2 REQ ECHO_REQ alive
@2 WAIT 1
EOF
	assert_success
	assert_output 'CLOSED
@2 ECHO_RES alive'
	grep -q 'SUBMIT_JOB: argument without NUL terminator' "$LOG_s"
}

@test "an admin line over 8191 bytes closes the connection" {
	run raw -p "$PORT_s" <<'EOF'
TEXT x\{8192}
CLOSED
@2 ADMIN bogus
EOF
	assert_success
	assert_output 'CLOSED
@2 | ERR UNKNOWN_COMMAND Unknown+server+commandbogus\r'
	if is_gm; then grep -q 'admin line longer than 8191' "$LOG_s"; fi
}

@test "an admin line with more than five words closes the connection" {
	run raw -p "$PORT_s" <<'EOF'
TEXT a b c d e f
CLOSED
@2 REQ ECHO_REQ alive
@2 WAIT 1
EOF
	assert_success
	assert_output 'CLOSED
@2 ECHO_RES alive'
	if is_gm; then grep -q 'admin command with more than 5 words' "$LOG_s"; fi
}

@test "a client that never reads is cut off past --max-output; others go on" {
	gm_only
	server_start mo --max-output 2M
	{
		echo 'REQ SUBMIT_JOB mo "" x'
		echo 'WAIT 1'
		echo '@2 REQ CAN_DO mo'
		echo '@2 REQ GRAB_JOB'
		echo '@2 WAIT 1'
		for i in $(seq 400); do
			echo '@2 REQ WORK_DATA H:HOST:1 d\{65536}'
		done
		echo '@2 SYNC'
		echo '@3 ADMIN status'
	} >"$BATS_TEST_TMPDIR/script"
	run raw -p "$PORT_mo" "$BATS_TEST_TMPDIR/script"
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
@2 JOB_ASSIGN H:HOST:1 mo x
@3 | mo\t1\t1\t1
@3 | .'
	grep -q 'output over 2097152 bytes: peer does not read' "$LOG_mo"
}

@test "an epoch job wakes a sleeping worker when it is due" {
	gm_only "gearmand has no timer for epoch jobs (protocol.md 3.3)"
	local when=$(($(date +%s) + 2))
	run raw -t 10000 -p "$PORT_s" <<EOF
@2 REQ CAN_DO ef
@2 REQ PRE_SLEEP
@2 SYNC
REQ SUBMIT_JOB_EPOCH ef "" $when x
WAIT 1
@2 WAIT 1
@2 REQ GRAB_JOB
@2 WAIT 1
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
@2 NOOP
@2 JOB_ASSIGN H:HOST:1 ef x'
	[ "$(date +%s)" -ge "$when" ]
}

@test "a future epoch job does not hold back lower priorities" {
	gm_only "gearmand returns NO_JOB (protocol.md 3.3)"
	server_start ep
	local when=$(($(date +%s) + 3600))
	run raw -p "$PORT_ep" <<EOF
REQ SUBMIT_JOB_EPOCH ep "" $when later
WAIT 1
REQ SUBMIT_JOB_LOW_BG ep "" now
WAIT 1
@2 REQ CAN_DO ep
@2 REQ GRAB_JOB
@2 WAIT 1
@2 REQ GRAB_JOB
@2 WAIT 1
@3 ADMIN prioritystatus
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
JOB_CREATED H:HOST:2
@2 JOB_ASSIGN H:HOST:2 ep now
@2 NO_JOB
@3 | ep\t0\t1\t0\t1
@3 | .'
}

@test "a worker of several functions gets the highest priority first, oldest first" {
	gm_only "gearmand 1.1.20 serves one function at a time (protocol.md 3.3)"
	server_start pr
	run raw -p "$PORT_pr" <<'EOF'
REQ SUBMIT_JOB_LOW_BG fa "" a-low
REQ SUBMIT_JOB_BG fb "" b-norm
REQ SUBMIT_JOB_HIGH_BG fa "" a-high
REQ SUBMIT_JOB_HIGH_BG fb "" b-high
REQ SUBMIT_JOB_BG fa "" a-norm
WAIT 5
@2 REQ CAN_DO fa
@2 REQ CAN_DO fb
@2 REQ GRAB_JOB
@2 REQ GRAB_JOB
@2 REQ GRAB_JOB
@2 REQ GRAB_JOB
@2 REQ GRAB_JOB
@2 REQ GRAB_JOB
@2 WAIT 6
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
JOB_CREATED H:HOST:2
JOB_CREATED H:HOST:3
JOB_CREATED H:HOST:4
JOB_CREATED H:HOST:5
@2 JOB_ASSIGN H:HOST:3 fa a-high
@2 JOB_ASSIGN H:HOST:4 fb b-high
@2 JOB_ASSIGN H:HOST:2 fb b-norm
@2 JOB_ASSIGN H:HOST:5 fa a-norm
@2 JOB_ASSIGN H:HOST:1 fa a-low
@2 NO_JOB'
}

@test "-R rotates between functions of equal priority" {
	gm_only
	server_start rr -R
	run raw -p "$PORT_rr" <<'EOF'
REQ SUBMIT_JOB_BG fa "" a1
REQ SUBMIT_JOB_BG fa "" a2
REQ SUBMIT_JOB_BG fb "" b1
REQ SUBMIT_JOB_BG fb "" b2
WAIT 4
@2 REQ CAN_DO fa
@2 REQ CAN_DO fb
@2 REQ GRAB_JOB
@2 REQ GRAB_JOB
@2 REQ GRAB_JOB
@2 REQ GRAB_JOB
@2 WAIT 4
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
JOB_CREATED H:HOST:2
JOB_CREATED H:HOST:3
JOB_CREATED H:HOST:4
@2 JOB_ASSIGN H:HOST:3 fb b1
@2 JOB_ASSIGN H:HOST:1 fa a1
@2 JOB_ASSIGN H:HOST:4 fb b2
@2 JOB_ASSIGN H:HOST:2 fa a2'
}

@test "one NOOP per queued job: two sleepers, one job, one wake-up" {
	gm_only "gearmand wakes every sleeper by default"
	server_start nw
	run raw -p "$PORT_nw" <<'EOF'
@2 REQ CAN_DO nw
@2 REQ PRE_SLEEP
@2 SYNC
@3 REQ CAN_DO nw
@3 REQ PRE_SLEEP
@3 SYNC
REQ SUBMIT_JOB_BG nw "" x
WAIT 1
@2 SYNC
@3 SYNC
REQ SUBMIT_JOB_BG nw "" y
WAIT 1
@2 SYNC
@3 SYNC
EOF
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
@2 NOOP
JOB_CREATED H:HOST:2
@3 NOOP'
}

@test "drop function refuses while jobs are queued (gearmand orphans them)" {
	server_start df
	run raw -p "$PORT_df" <<'EOF'
REQ SUBMIT_JOB_BG dropme "" x
WAIT 1
ADMIN drop function dropme
ADMIN status
EOF
	assert_success
	if is_gm; then
		assert_output 'JOB_CREATED H:HOST:1
| ERR there are still connected workers or executing clients\r
| dropme\t1\t0\t0
| .'
	else
		assert_output 'JOB_CREATED H:HOST:1
| OK\r
| .'
	fi
}

@test "journal: the admin command lists the journal's figures" {
	gm_only
	run admin "$PORT_s" journal
	assert_success
	run cut -f1 <<<"$output"
	assert_output 'enabled
dir
sync
bytes
live
dead
flushes
last_flush_us
peak_flush_us
compactions
write_errors
.'
	run admin "$PORT_s" journal
	assert_line --index 0 $'enabled\t0'
}

@test "with a journal, JOB_CREATED and later replies keep their order" {
	gm_only
	JOURNAL_jo="$BATS_FILE_TMPDIR/journal-jo"
	mkdir -p "$JOURNAL_jo"
	server_start jo
	run raw -p "$PORT_jo" <<'EOF'
REQ SUBMIT_JOB_BG jo "" a
REQ ECHO_REQ one
REQ SUBMIT_JOB_BG jo "" b
ADMIN version
REQ ECHO_REQ two
WAIT 1
@2 REQ CAN_DO jo
@2 REQ GRAB_JOB
@2 WAIT 1
EOF
	assert_success
	assert_output --regexp '^JOB_CREATED H:HOST:1
ECHO_RES one
JOB_CREATED H:HOST:2
\| OK [0-9.]+
ECHO_RES two
@2 JOB_ASSIGN H:HOST:1 jo a$'
}

@test "out of file descriptors: accepting pauses, logged once, then resumes" {
	gm_only
	server_start fd -f 16
	perl -MIO::Socket::INET -e '
	    my ($port, $log) = @ARGV; my @s;
	    for (1 .. 24) {
	        push @s, IO::Socket::INET->new(PeerAddr => "127.0.0.1",
	            PeerPort => $port) or die "connect: $!\n";
	    }
	    for (1 .. 500) {
	        open(my $f, "<", $log) or die; local $/; my $t = <$f>;
	        exit 0 if $t =~ /pausing accept/;
	        select(undef, undef, undef, 0.02);
	    }
	    die "no pause logged\n";' "$PORT_fd" "$LOG_fd"
	wait_until 10 eval '[ "$(admin "$PORT_fd" version)" = "OK $(gms -V | cut -d" " -f2)" ]'
	[ "$(grep -c 'pausing accept' "$LOG_fd")" = 1 ]
	pid_alive "$PID_fd"
}

@test "-u drops privileges after binding" {
	gm_only
	[ "$(id -u)" = 0 ] || skip "needs root"
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	# A folder user nobody can reach (the bats one is private to root).
	local d
	d=$(mktemp -d /tmp/gm-server-u.XXXXXX)
	chmod 777 "$d"
	"$GM_BIN/gm-server" -u nobody -L 127.0.0.1 -p 0 --port-file "$d/port" \
	    -l "$d/log" --journal none 3>&- </dev/null &
	local pid=$!
	echo "$pid" >>"$BATS_FILE_TMPDIR/pids"
	wait_until 20 test -s "$d/port"
	[ "$(ps -o user= -p "$pid" | tr -d ' ')" = nobody ]
	run admin "$(cat "$d/port")" getpid
	assert_output "OK $pid"
	kill -TERM "$pid"
	local st=0
	wait "$pid" || st=$?
	[ "$st" = 0 ]
	rm -rf "$d"
}

@test "--keepalive options set TCP keepalive on accepted connections" {
	gm_only
	server_start ka --keepalive --keepalive-idle 77 --keepalive-interval 5 \
	    --keepalive-count 3
	exec 7<>"/dev/tcp/127.0.0.1/$PORT_ka"
	wait_until 10 eval "ss -tno state established '( sport = :$PORT_ka )' | grep -q 'timer:(keepalive'"
	run ss -tno state established "( sport = :$PORT_ka )"
	exec 7>&-
	# The timer counts down from 77 s: 1min17sec at first, less later on
	# a slow machine; the kernel's default would show about 120 min.
	assert_output --regexp 'timer:\(keepalive,(1min([0-9]|1[0-7])sec|[0-9]+sec),0\)'
}

@test "-w 0 wakes every sleeping worker for one job" {
	server_start w0 -w 0
	run raw -p "$PORT_w0" <<'EOF2'
@2 REQ CAN_DO w0
@2 REQ PRE_SLEEP
@2 SYNC
@3 REQ CAN_DO w0
@3 REQ PRE_SLEEP
@3 SYNC
REQ SUBMIT_JOB_BG w0 "" x
WAIT 1
@2 WAIT 1
@3 WAIT 1
EOF2
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
@2 NOOP
@3 NOOP'
}

@test "--exceptions: clients get WORK_EXCEPTION without asking" {
	server_start ex --exceptions
	run raw -p "$PORT_ex" <<'EOF2'
REQ SUBMIT_JOB exf "" x
WAIT 1
@2 REQ CAN_DO exf
@2 REQ GRAB_JOB
@2 WAIT 1
@2 REQ WORK_EXCEPTION H:HOST:1 boom
WAIT 1
EOF2
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
@2 JOB_ASSIGN H:HOST:1 exf x
WORK_EXCEPTION H:HOST:1 boom'
}

@test "-l stderr logs to the standard error, -l none nowhere" {
	gm_only
	local d="$BATS_TEST_TMPDIR/ls"
	mkdir -p "$d"
	"$GM_BIN/gm-server" -L 127.0.0.1 -p 0 --port-file "$d/port" \
	    -l stderr --journal none 3>&- </dev/null 2>"$d/err" &
	local pid=$!
	echo "$pid" >>"$BATS_FILE_TMPDIR/pids"
	wait_until 20 test -s "$d/port"
	kill -TERM "$pid"
	wait "$pid" || true
	grep -q 'listening on 127.0.0.1:' "$d/err"
	"$GM_BIN/gm-server" -L 127.0.0.1 -p 0 --port-file "$d/port2" \
	    -l none --journal none 3>&- </dev/null 2>"$d/err2" &
	pid=$!
	echo "$pid" >>"$BATS_FILE_TMPDIR/pids"
	wait_until 20 test -s "$d/port2"
	kill -TERM "$pid"
	wait "$pid" || true
	[ ! -s "$d/err2" ]
}

@test "SIGUSR1 stops gracefully: no new connections, exit 0 once idle" {
	gm_only "gearmand 1.1.20 never exits after SIGUSR1 (protocol.md 8)"
	# Its port stays held after it stops: no other server answers there.
	port_hold
	PORT_u1=$HELD_PORT
	server_start u1
	kill -USR1 "$PID_u1"
	local st=0
	wait "$PID_u1" || st=$?
	[ "$st" = 0 ]
	run admin "$PORT_u1" version
	assert_failure
	grep -q 'graceful shutdown: no longer accepting connections' "$LOG_u1"
}

@test "during a graceful stop a lost worker's job goes to another worker" {
	gm_only
	server_start gw
	run raw -p "$PORT_gw" <<'EOF2'
REQ SUBMIT_JOB gw "" x
WAIT 1
@4 REQ ECHO_REQ open
@4 WAIT 1
@2 REQ CAN_DO gw
@2 REQ GRAB_JOB
@2 WAIT 1
@3 ADMIN shutdown graceful
@2 CLOSE
@4 REQ CAN_DO gw
@4 POLL JOB_ASSIGN REQ GRAB_JOB
@4 REQ WORK_COMPLETE H:HOST:1 done
WAIT 1
EOF2
	assert_success
	assert_output 'JOB_CREATED H:HOST:1
@4 ECHO_RES open
@2 JOB_ASSIGN H:HOST:1 gw x
@3 | OK\r
@4 JOB_ASSIGN H:HOST:1 gw x
WORK_COMPLETE H:HOST:1 done'
	local st=0
	wait "$PID_gw" || st=$?
	[ "$st" = 0 ]
}
