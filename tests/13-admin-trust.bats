#!/usr/bin/env bats
# The admin allow-list, from a peer that is not loopback: a host of the
# test bed (tests/netns.bash) on one bridge with this namespace.
# State-changing commands need a trusted peer (loopback, the unix socket, a
# verified TLS client certificate, or an --admin-allow network); reading
# commands stay open unless --admin-trusted-reads.  gearmand accepts everything from everyone, as
# --admin-open does.

bats_require_minimum_version 1.5.0
load helper
load netns

setup_file() {
	netns_bed =srv peer || return 1
	[ -e "$NETNS_DIR/ready" ] || return 0
	export HOST_IP=$NETNS_IP_srv PEER_IP=$NETNS_IP_peer NET="$NETNS_NET.0/24"
}

teardown_file() {
	kill_started
	netns_teardown
}

setup() {
	netns_skip
}

teardown() {
	spawn_kill
}

# peer CMD...: run CMD on the peer host, as the remote peer.
peer() {
	netns_run peer "$@"
}

# start NAME [ARGS...]: the target server, also on $HOST_IP (gearmand, which
# takes one -L, on $HOST_IP only).
start() {
	local name=$1 port pid
	shift
	if is_gm; then
		server_start "$name" -L "$HOST_IP" "$@"
		return
	fi
	# A port of the kernel's choosing, read back from the socket table.
	"$GEARMAND" -L "$HOST_IP" -p 0 -l "$BATS_TEST_TMPDIR/$name.log" \
	    "$@" 3>&- </dev/null &
	pid=$!
	echo "$pid" >>"$BATS_FILE_TMPDIR/pids"
	printf -v "PID_$name" %s "$pid"
	printf -v "LOG_$name" %s "$BATS_TEST_TMPDIR/$name.log"
	wait_until 20 eval 'port=$(listen_port "$pid")' || return 1
	printf -v "PORT_$name" %s "$port"
}

# The commands that change state, then reading ones, as a gmraw script.
script() {
	cat <<'EOF'
ADMIN cancel job H:nohost:1
ADMIN create function trustf
ADMIN maxqueue trustf 3
ADMIN drop function trustf
ADMIN shutdown graceful
ADMIN shutdown
ADMIN version
ADMINSORT status
ADMIN getpid
EOF
}

@test "a non-loopback peer: every state-changing admin command refused with one exact ERR line; reads work (gearmand: all accepted)" {
	start r
	run peer "$GM_BUILD/tests/tools/gmraw" -h "$HOST_IP" -p "$PORT_r" \
	    < <(script | head -n 4)
	assert_success
	if is_gearmand; then
		# Accepted (its drop answer is its own: not a refusal).
		assert_output '| ERR UNKNOWN_JOB\r
| OK\r
| OK\r
| ERR function not found\r'
		return
	fi
	assert_output '| ERR NOT_PERMITTED cancel+needs+a+trusted+peer\r
| ERR NOT_PERMITTED create+needs+a+trusted+peer\r
| ERR NOT_PERMITTED maxqueue+needs+a+trusted+peer\r
| ERR NOT_PERMITTED drop+needs+a+trusted+peer\r'
	run peer "$GM_BUILD/tests/tools/gmraw" -h "$HOST_IP" -p "$PORT_r" \
	    < <(script | tail -n 5)
	assert_success
	assert_output "| ERR NOT_PERMITTED shutdown+needs+a+trusted+peer\\r
| ERR NOT_PERMITTED shutdown+needs+a+trusted+peer\\r
| OK $(gm-server -V | cut -d' ' -f2)
| .
| OK $PID_r"
	pid_alive "$PID_r"
	run grep -c "($PEER_IP): admin [a-z]* refused: not a trusted peer" "$LOG_r"
	assert_output 6
	# The same commands from loopback are accepted.
	run admin "$PORT_r" "create function trustf"
	assert_output $'OK\r'
	# gm-admin says what happened and exits non-zero.
	run --separate-stderr peer gm-admin -h "$HOST_IP:$PORT_r" drop trustf
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"NOT_PERMITTED"* ]]
}

@test "--admin-allow naming the peer's network lets it change state" {
	gm_only
	start a --admin-allow 10.0.0.0/8 --admin-allow "$NET"
	run peer "$GM_BUILD/tests/tools/gmraw" -h "$HOST_IP" -p "$PORT_a" \
	    < <(script | head -n 4)
	assert_success
	assert_output '| ERR UNKNOWN_JOB\r
| OK\r
| OK\r
| OK\r'
	run peer "$GM_BUILD/tests/tools/gmraw" -h "$HOST_IP" -p "$PORT_a" <<'EOF'
ADMIN shutdown
EOF
	assert_output '| OK\r'
	wait_until 10 eval "! pid_alive $PID_a"
	run --separate-stderr gm-server --admin-allow 198.19.0.0/33 --journal none
	[ "$status" -eq 1 ]
	[ "$stderr" = "gm-server: --admin-allow 198.19.0.0/33: prefix length too large" ]
	run --separate-stderr gm-server --admin-allow host.example --journal none
	[ "$status" -eq 1 ]
	[ "$stderr" = "gm-server: --admin-allow host.example: not an IPv4 or IPv6 address" ]
}

@test "--admin-open restores gearmand's open admin; --admin-trusted-reads closes reads too" {
	gm_only
	start o --admin-open
	run peer "$GM_BUILD/tests/tools/gmraw" -h "$HOST_IP" -p "$PORT_o" \
	    < <(script | head -n 4)
	assert_output '| ERR UNKNOWN_JOB\r
| OK\r
| OK\r
| OK\r'
	start c --admin-trusted-reads
	run peer "$GM_BUILD/tests/tools/gmraw" -h "$HOST_IP" -p "$PORT_c" <<'EOF'
ADMIN status
ADMIN version
EOF
	assert_output '| ERR NOT_PERMITTED status+needs+a+trusted+peer\r
| ERR NOT_PERMITTED version+needs+a+trusted+peer\r'
	run admin "$PORT_c" version
	assert_output "OK $(gm-server -V | cut -d' ' -f2)"
}

@test "a TLS client with a verified certificate is trusted from afar; without one it is not" {
	gm_only
	local d=$BATS_TEST_TMPDIR
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=trust ca" \
	    -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
	for c in srv cli; do
		openssl req -newkey rsa:2048 -nodes -subj "/CN=trust $c" \
		    -keyout "$d/$c.key" -out "$d/$c.csr" 2>/dev/null
		openssl x509 -req -days 2 -in "$d/$c.csr" -CA "$d/ca.pem" \
		    -CAkey "$d/ca.key" -CAcreateserial -out "$d/$c.pem" 2>/dev/null
	done
	start t --ssl --ssl-ca-file "$d/ca.pem" --ssl-certificate "$d/srv.pem" \
	    --ssl-key "$d/srv.key"
	run --separate-stderr peer gm-admin -S --ssl-no-verify \
	    -h "$HOST_IP:$PORT_t" --raw create tlsf
	assert_output $'ERR NOT_PERMITTED create+needs+a+trusted+peer\r'
	run --separate-stderr peer gm-admin -S --ssl-no-verify \
	    --ssl-certificate "$d/cli.pem" --ssl-key "$d/cli.key" \
	    -h "$HOST_IP:$PORT_t" --raw create tlsf
	assert_output $'OK\r'
}
