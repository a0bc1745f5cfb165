#!/usr/bin/env bats
# TLS on the Gearman port: gearmand's --ssl options, gm's tools over TLS,
# Debian's `gearman -S`, mutual TLS, plain and TLS listeners side by side,
# and peers that do not speak TLS.  Certificates are made here with openssl.
# Debian's gearmand 1.1.20 and libgearman are built without TLS: gearmand
# accepts --ssl and goes on speaking plain text, and `gearman -S` sends plain
# text; the tests run against gearmand too and show that.

bats_require_minimum_version 1.5.0
load helper

setup_file() {
	local d=$BATS_FILE_TMPDIR/pki
	mkdir -p "$d"
	export PKI=$d
	# A CA, a server certificate for localhost and 127.0.0.1, a client
	# certificate from the CA, and one from a CA the server does not know.
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$d/srv.ext"
	for ca in ca rogue; do
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
		    -subj "/CN=gm test $ca" -keyout "$d/$ca.key" \
		    -out "$d/$ca.pem" 2>/dev/null
	done
	mkcert srv ca "$d/srv.ext"
	mkcert cli ca
	mkcert bad rogue
}

# mkcert NAME CA [EXTFILE]: a key and a certificate NAME signed by CA.
mkcert() {
	openssl req -newkey rsa:2048 -nodes -subj "/CN=gm test $1" \
	    -keyout "$PKI/$1.key" -out "$PKI/$1.csr" 2>/dev/null
	openssl x509 -req -days 2 -in "$PKI/$1.csr" -CA "$PKI/$2.pem" \
	    -CAkey "$PKI/$2.key" -CAcreateserial -out "$PKI/$1.pem" \
	    ${3:+-extfile "$3"} 2>/dev/null
}

teardown_file() {
	kill_started
}

teardown() {
	spawn_kill
}

# The server's TLS options, as gearmand names them.
ssl_opts() {
	echo --ssl --ssl-ca-file "$PKI/ca.pem" --ssl-certificate \
	    "$PKI/srv.pem" --ssl-key "$PKI/srv.key"
}

# tadmin PORT ARGS...: gm-admin over TLS, checking the server against our CA.
tadmin() {
	local port=$1
	shift
	gm-admin -S --ssl-ca-file "$PKI/ca.pem" -h "127.0.0.1:$port" "$@"
}

# twait PORT FUNC N: wait until FUNC has N workers, asking over TLS.
twait() {
	wait_until 15 eval "[ \"\$(tadmin $1 --raw status |
	    awk -F '\t' -v f=$2 '\$1 == f { print \$4 }')\" = $3 ]"
}

@test "--ssl: gm-submit, gm-work and gm-admin round-trip over TLS (gearmand 1.1.20 --ssl speaks plain text)" {
	server_start t $(ssl_opts)
	if is_gearmand; then
		# No TLS at all: the handshake gets nothing back, plain works.
		run --separate-stderr gm-submit -S --ssl-ca-file \
		    "$PKI/ca.pem" -t 1000 -h "127.0.0.1:$PORT_t" -f up hi
		[ "$status" -ne 0 ]
		run admin "$PORT_t" version
		assert_output --partial 'OK 1.1.20'
		return
	fi
	spawn gm-work -S --ssl-ca-file "$PKI/ca.pem" -h "127.0.0.1:$PORT_t" \
	    -f up -- tr a-z A-Z
	twait "$PORT_t" up 1
	run --separate-stderr gm-submit -S --ssl-ca-file "$PKI/ca.pem" \
	    -h "localhost:$PORT_t" -f up hello
	assert_success
	assert_output HELLO
	run tadmin "$PORT_t" --raw status
	assert_output "$(printf 'up\t0\t0\t1\n.')"
	# Plain text gets no answer on a TLS port.
	run admin "$PORT_t" version
	assert_output ""
	grep -q "closing connection: TLS handshake failed: " "$LOG_t"
}

@test "Debian's gearman -S sends plain text: refused by gm's TLS port, served by gearmand --ssl" {
	server_start d $(ssl_opts)
	run --separate-stderr timeout 20 gearman -S -h 127.0.0.1 -p "$PORT_d" \
	    -f up hello
	if is_gearmand; then
		spawn gearman -S -h 127.0.0.1 -p "$PORT_d" -w -f up -- tr a-z A-Z
		wait_workers up 1 "$PORT_d"
		run --separate-stderr timeout 20 gearman -S -h 127.0.0.1 \
		    -p "$PORT_d" -f up hello
		assert_output HELLO
		return
	fi
	# The CLI exits 0 even so; the failure is in its message.
	[[ "$stderr" == *GEARMAN_LOST_CONNECTION* ]]
	run grep -c "(127.0.0.1): closing connection: TLS handshake failed: wrong version number" "$LOG_d"
	assert_output 1
}

@test "the tools check the server's certificate unless told not to" {
	gm_only
	server_start v $(ssl_opts)
	run --separate-stderr gm-admin -S -h "127.0.0.1:$PORT_v" version
	[ "$status" -eq 3 ]
	[[ "$stderr" == "gm-admin: 127.0.0.1:$PORT_v: TLS handshake failed: certificate verify failed: "* ]]
	run --separate-stderr gm-submit -S -h "127.0.0.1:$PORT_v" -f x y
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"127.0.0.1:$PORT_v: TLS handshake failed: certificate verify failed: "* ]]
	run --separate-stderr gm-admin -S --ssl-no-verify -h "127.0.0.1:$PORT_v" version
	assert_success
	[[ "$output" == *"$(gm-server -V | cut -d' ' -f2)"* ]]
	# The name is checked: the certificate is for localhost and 127.0.0.1.
	run --separate-stderr gm-admin -S --ssl-ca-file "$PKI/ca.pem" \
	    --ssl-certificate "$PKI/srv.pem" --ssl-key "$PKI/cli.key" version
	[ "$status" -eq 2 ]
	[ "$stderr" = "gm-admin: TLS: key $PKI/cli.key: key values mismatch" ]
}

@test "mutual TLS: no certificate or one from another CA is refused, the CA's gets in" {
	gm_only
	server_start m $(ssl_opts) --ssl-verify-client
	run --separate-stderr tadmin "$PORT_m" version
	[ "$status" -eq 3 ]
	run --separate-stderr tadmin "$PORT_m" --ssl-certificate "$PKI/bad.pem" \
	    --ssl-key "$PKI/bad.key" version
	[ "$status" -eq 3 ]
	run --separate-stderr tadmin "$PORT_m" --ssl-certificate "$PKI/cli.pem" \
	    --ssl-key "$PKI/cli.key" --raw version
	assert_success
	spawn gm-work -S --ssl-ca-file "$PKI/ca.pem" --ssl-certificate \
	    "$PKI/cli.pem" --ssl-key "$PKI/cli.key" -h "127.0.0.1:$PORT_m" \
	    -f up -- tr a-z A-Z
	run --separate-stderr gm-submit -S --ssl-ca-file "$PKI/ca.pem" \
	    --ssl-certificate "$PKI/cli.pem" --ssl-key "$PKI/cli.key" \
	    -h "127.0.0.1:$PORT_m" -f up mutual
	assert_output MUTUAL
	run grep -c "(127.0.0.1): closing connection: TLS handshake failed: peer did not return a certificate" "$LOG_m"
	assert_output 1
	run grep -c "(127.0.0.1): closing connection: TLS handshake failed: certificate verify failed" "$LOG_m"
	assert_output 1
}

@test "plain text and garbage on the TLS port, and a stalled handshake, do not disturb other clients" {
	gm_only
	server_start g $(ssl_opts)
	spawn gm-work -S --ssl-ca-file "$PKI/ca.pem" -h "127.0.0.1:$PORT_g" \
	    -f up -- tr a-z A-Z
	twait "$PORT_g" up 1
	# A peer that connects and says nothing holds its handshake open.
	spawn perl -MIO::Socket::INET -e '
	    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1",
	        PeerPort => $ARGV[0]) or die; sleep 60' "$PORT_g"
	local stalled=$SPAWNED
	run admin "$PORT_g" status
	assert_output ""
	# A TLS record header announcing a ClientHello, then junk; read
	# until the server closes (it has logged why by then).
	timeout 60 perl -MIO::Socket::INET -e '
	    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1",
	        PeerPort => $ARGV[0]) or die;
	    print $s "\x16\x03\x01\x00\x30" . ("\xff" x 48); $s->flush;
	    1 while sysread($s, my $b, 512);' "$PORT_g"
	run --separate-stderr gm-submit -S --ssl-ca-file "$PKI/ca.pem" \
	    -h "127.0.0.1:$PORT_g" -f up still
	assert_output STILL
	pid_alive "$stalled"
	run grep -c "(127.0.0.1): closing connection: TLS handshake failed: " "$LOG_g"
	assert_output 2
}

@test "a stalled handshake is closed by --request-timeout; an idle TLS client stays" {
	gm_only "gearmand 1.1.20 has no deadline on a partial request"
	# A server of its own (and a log of its own): not the one above.
	server_start gt $(ssl_opts) --request-timeout 1
	# The stalled peer connects from 127.0.0.2 and the TLS clients from
	# 127.0.0.1, so the closes of each are counted apart: a TLS client
	# whose own handshake a loaded machine stalls past 1 s is closed too
	# (rightly), and must not change the stalled peer's count.
	local stalled_closed="(127.0.0.2): closing connection: request not complete within 1 s"
	local client_closed="(127.0.0.1): closing connection: request not complete within 1 s"
	# A TLS worker that finished its handshake (it has registered) and
	# then waits idle.
	spawn gm-work -S --ssl-ca-file "$PKI/ca.pem" -h "127.0.0.1:$PORT_gt" \
	    -f up -- tr a-z A-Z
	twait "$PORT_gt" up 1
	local before
	before=$(grep -cF "$client_closed" "$LOG_gt" || true)
	# One peer connects and never starts its handshake.
	spawn perl -MIO::Socket::INET -e '
	    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1",
	        PeerPort => $ARGV[0], LocalAddr => "127.0.0.2") or die; my $b;
	    sysread($s, $b, 1); exit(defined $b && length $b ? 1 : 3)' "$PORT_gt"
	local stalled=$SPAWNED
	wait_until 20 eval "! kill -0 $stalled 2>/dev/null"
	wait_until 20 grep -qF "$stalled_closed" "$LOG_gt"
	run grep -cF "$stalled_closed" "$LOG_gt"
	assert_output 1
	# Well past the deadline, the idle worker was not closed and still
	# serves.
	local t0=$SECONDS
	wait_until 20 eval '[ $((SECONDS - t0)) -ge 3 ]'
	run grep -cF "$client_closed" "$LOG_gt"
	assert_output "$before"
	twait "$PORT_gt" up 1
	# The submitting client's own handshake may be closed the same way:
	# try again until one gets through.
	wait_until 60 eval '[ "$(gm-submit -S --ssl-ca-file "$PKI/ca.pem" \
	    -h "127.0.0.1:$PORT_gt" -f up idle 2>/dev/null)" = IDLE ]'
}

@test "plain and TLS listeners side by side (-p and --ssl-port); the port file lists both" {
	gm_only
	local d=$BATS_TEST_TMPDIR/sbs
	mkdir -p "$d"
	spawn gm-server -L 127.0.0.1 -p 0 --ssl-port 0 --ssl-ca-file \
	    "$PKI/ca.pem" --ssl-certificate "$PKI/srv.pem" --ssl-key \
	    "$PKI/srv.key" --port-file "$d/port" -l "$d/log" --journal none
	wait_until 20 eval "[ \$(wc -l <'$d/port' 2>/dev/null || echo 0) = 2 ]"
	local plain tls
	plain=$(sed -n 1p "$d/port")
	tls=$(sed -n 2p "$d/port")
	[ "$plain" != "$tls" ]
	line_ends "$d/log" ": listening on 127.0.0.1:$tls (TLS)"
	spawn gm-work -h "127.0.0.1:$plain" -f up -- tr a-z A-Z
	wait_workers up 1 "$plain"
	run gm-submit -S --ssl-ca-file "$PKI/ca.pem" -h "127.0.0.1:$tls" \
	    -f up over-tls
	assert_output OVER-TLS
	run gm-submit -h "127.0.0.1:$plain" -f up plain
	assert_output PLAIN
}

@test "TLS start-up errors: a missing certificate or the options without --ssl" {
	gm_only
	run --separate-stderr gm-server -p 0 --journal none --ssl \
	    --ssl-certificate /nonexistent.pem --ssl-key "$PKI/srv.key"
	[ "$status" -eq 1 ]
	[[ "$stderr" == "gm-server: TLS: certificate /nonexistent.pem: "* ]]
	run --separate-stderr gm-server -p 0 --journal none \
	    --ssl-certificate "$PKI/srv.pem"
	[ "$status" -eq 1 ]
	[ "$stderr" = "gm-server: the --ssl-* options need --ssl or --ssl-port" ]
	run --separate-stderr gm-server -p 0 --journal none --ssl \
	    --ssl-certificate "$PKI/srv.pem" --ssl-key "$PKI/srv.key" \
	    --ssl-verify-client --ssl-ca-file /nonexistent-ca.pem
	[ "$status" -eq 1 ]
	[[ "$stderr" == "gm-server: TLS: CA file /nonexistent-ca.pem: "* ]]
}
