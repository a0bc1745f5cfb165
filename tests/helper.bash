# Shared functions for the bats suites.
#
# Every suite runs once per target server: TARGET=gm (our gm-server) and
# TARGET=gearmand (gearmand 1.1.20 from Debian), so a test that only our
# server passes is caught.  GM_BIN is the folder of our binaries.

load '/usr/lib/bats/bats-support/load.bash'
load '/usr/lib/bats/bats-assert/load.bash'

: "${TARGET:=gm}"
: "${GM_BIN:=$BATS_TEST_DIRNAME/../build/bin}"
: "${GM_BUILD:=$(dirname "$GM_BIN")}"
: "${GEARMAND:=/usr/sbin/gearmand}"
export TARGET GM_BIN GM_BUILD
export PATH="$GM_BIN:$PATH"

# wait_until SECONDS COMMAND...: poll COMMAND until it succeeds or the
# deadline passes (then return 1).
wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.02
	done
}

# port_hold [PORT]: keep a TCP port (PORT, or a new one of the kernel's
# choosing) bound on every IPv4 address, but not listening, until
# kill_started (the holder's pid is listed with the servers'); sets
# HELD_PORT.  While it is held the kernel gives the port to
# no other program (neither to a bind to port 0 nor to an outgoing
# connection), a connection to it is refused, and a server told to listen
# on it still can (gm-server, gearmand, Python's and Go's servers all set
# SO_REUSEADDR, which allows that).  Use it for a port that must stay dead,
# for a port a server is started on later, and for the port of a server
# that is stopped and started again.  A port merely found free and let go
# can be taken by anyone before the server binds it.
port_hold() {
	local f pid
	f=$(mktemp "$BATS_FILE_TMPDIR/held.XXXXXX") || return 1
	perl -MSocket -e '
	    my ($port, $f) = @ARGV;
	    socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!\n";
	    setsockopt($s, SOL_SOCKET, SO_REUSEADDR, 1) or die "reuse: $!\n";
	    bind($s, pack_sockaddr_in($port, INADDR_ANY)) or
	        die "port_hold: bind port $port: $!\n";
	    ($port) = unpack_sockaddr_in(getsockname($s));
	    open(my $o, ">", "$f.tmp") or die "$f.tmp: $!\n";
	    print $o "$port\n";
	    close $o or die "$f.tmp: $!\n";
	    rename("$f.tmp", $f) or die "$f: $!\n";
	    sleep 3600;' "${1:-0}" "$f" 3>&- </dev/null >/dev/null &
	pid=$!
	echo "$pid" >>"$BATS_FILE_TMPDIR/pids"
	wait_until 20 eval "test -s '$f' || ! pid_alive $pid"
	[ -s "$f" ] || return 1
	HELD_PORT=$(cat "$f")
}

# port_open PORT: something accepts connections on 127.0.0.1:PORT.
port_open() {
	(exec 9<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# listen_port PID [EXCEPT]: the TCP port PID listens on (other than
# EXCEPT), once it does.
listen_port() {
	ss -Htlnp | awk -v p="pid=$1," -v x="${2:-}" 'index($0, p) {
	    n = split($4, a, ":"); if (a[n] == x) next
	    print a[n]; found = 1; exit } END { exit !found }'
}

# line_ends FILE TEXT: a line of FILE ends with TEXT, a fixed string (a
# log line names an address or a port exactly: no dot matching any byte,
# no port 1234 found in 12345).
line_ends() {
	T=$2 awk 'BEGIN { t = ENVIRON["T"] }
	    length($0) >= length(t) &&
	    substr($0, length($0) - length(t) + 1) == t { f = 1; exit }
	    END { exit !f }' "$1"
}

# pid_alive PID
pid_alive() {
	kill -0 "$1" 2>/dev/null
}

# tcp_in PID PORT: the bytes process PID has received on its connection to
# port PORT (the kernel's count, ss -i).
tcp_in() {
	ss -tinpH dport = ":$2" | awk -v p="pid=$1," '
	    want {
		for (i = 1; i <= NF; i++)
			if ($i ~ /^bytes_received:/) {
				sub(/^[^:]*:/, "", $i)
				n = $i
			}
		print n + 0
		exit
	    }
	    index($0, p) { want = 1 }'
}

is_gm() { [ "$TARGET" = gm ]; }
is_gearmand() { [ "$TARGET" = gearmand ]; }

# gm_only [REASON]: skip this test when running against gearmand.
gm_only() {
	is_gm || skip "${1:-gm-server only}"
}

# server_start NAME [SERVER ARGS...]: start a target server on a free port
# on 127.0.0.1.  Sets PORT_NAME, PID_NAME, LOG_NAME and DIR_NAME; the first
# server started also sets PORT and exports GEARMAN_SERVER.  gm-server runs
# with --journal none unless JOURNAL_NAME (or GM_JOURNAL) names a folder;
# GM_JOURNAL=fresh gives each test a journal of its own.
# PORT_NAME, if already set, is reused (a restart on the same port).
server_start() {
	local name=$1 dir port pid pv jv journal a prev= http prefix
	shift
	dir="$BATS_FILE_TMPDIR/srv-$name"
	mkdir -p "$dir"
	pv="PORT_$name"
	jv="JOURNAL_$name"
	journal=${!jv:-${GM_JOURNAL:-none}}
	# "fresh": a journal of its own for each test (kept across a restart).
	[ "$journal" != fresh ] || journal="$dir/journal.${BATS_TEST_NUMBER:-0}"
	case $TARGET in
	gm)
		rm -f "$dir/port"
		"$GM_BIN/gm-server" -L 127.0.0.1 -p "${!pv:-0}" \
		    --port-file "$dir/port" -l "$dir/log" \
		    --journal "$journal" "$@" 3>&- </dev/null &
		pid=$!
		if ! wait_until 20 test -s "$dir/port"; then
			kill -9 "$pid" 2>/dev/null
			echo "gm-server did not start; its log:" >&2
			cat "$dir/log" >&2 2>/dev/null
			return 1
		fi
		port=$(cat "$dir/port")
		;;
	gearmand)
		# gearmand cannot report its port: with -p 0 the kernel picks
		# one no other process can take meanwhile, read back from the
		# socket table.
		# The port of gearmand's HTTP module (--http-port) is not it.
		http=
		for a in "$@"; do
			[ "$prev" != --http-port ] || http=$a
			prev=$a
		done
		"$GEARMAND" -L 127.0.0.1 -p "${!pv:-0}" -l "$dir/log" \
		    --verbose INFO "$@" 3>&- </dev/null &
		pid=$!
		if ! wait_until 20 eval 'port=$(listen_port "$pid" "$http")'; then
			kill -9 "$pid" 2>/dev/null
			echo "gearmand did not start; its log:" >&2
			cat "$dir/log" >&2 2>/dev/null
			return 1
		fi
		;;
	esac
	# The handle prefix: gm-server logs it; gearmand's is H:nodename.
	case $TARGET in
	gm)	prefix=$(sed -n 's/.*job handles: \(.*\):N$/\1/p' \
		    "$dir/log" | tail -n 1) ;;
	gearmand)
		prefix="H:$(uname -n)"
		while [ $# -gt 0 ]; do
			[ "$1" != --job-handle-prefix ] || prefix=$2
			shift
		done ;;
	esac
	echo "$prefix" >"$BATS_FILE_TMPDIR/prefix-$port"
	printf -v "PORT_$name" %s "$port"
	printf -v "PID_$name" %s "$pid"
	printf -v "LOG_$name" %s "$dir/log"
	printf -v "DIR_$name" %s "$dir"
	echo "$pid" >>"$BATS_FILE_TMPDIR/pids"
	if [ -z "${PORT:-}" ]; then
		PORT=$port
		export GEARMAN_SERVER="127.0.0.1:$port"
	fi
}

# server_stop NAME [SIGNAL]: stop a server started by server_start and wait
# for it (10 s, then SIGKILL and failure).  Its exit status is in
# SERVER_STATUS.
server_stop() {
	local pv="PID_$1" pid
	pid=${!pv:-}
	[ -n "$pid" ] || return 0
	kill "-${2:-TERM}" "$pid" 2>/dev/null
	if ! wait_until 10 eval "! pid_alive $pid"; then
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		echo "server $1 ($pid) ignored SIG${2:-TERM}" >&2
		return 1
	fi
	SERVER_STATUS=0
	wait "$pid" 2>/dev/null || SERVER_STATUS=$?
	printf -v "PID_$1" %s ""
}

# kill_listed FILE SECONDS: TERM every pid listed in FILE, KILL those still
# alive after SECONDS, and remove the list.
kill_listed() {
	local pid
	[ -f "$1" ] || return 0
	while read -r pid; do
		pid_alive "$pid" && kill -TERM "$pid" 2>/dev/null
	done <"$1"
	while read -r pid; do
		wait_until "$2" eval "! pid_alive $pid" || kill -9 "$pid" 2>/dev/null
	done <"$1"
	rm -f "$1"
}

# kill_started: kill every server this file started (for teardown_file).
kill_started() {
	kill_listed "$BATS_FILE_TMPDIR/pids" 10
}

# admin [PORT] LINE: send one admin text command and print the reply up to
# its end (one OK/ERR line, or a list up to "."), byte for byte.  A reply
# that does not end within 30 s fails with a message, so a stuck server (or
# a port that another program holds) is named instead of hanging the test.
admin() {
	local port=$PORT
	[ $# -lt 2 ] || { port=$1; shift; }
	perl -MIO::Socket::INET -e '
	    $SIG{ALRM} = sub { die "admin $ARGV[1] on port $ARGV[0]: " .
	        "no complete reply within 30 s\n" };
	    alarm 30;
	    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1",
	        PeerPort => $ARGV[0]) or die "connect: $!\n";
	    $s->autoflush(1);
	    print $s "$ARGV[1]\r\n";
	    my $out = "";
	    while (defined(my $l = <$s>)) {
	        $out .= $l;
	        last if $out eq $l && $l =~ /^(OK|ERR)\b/;
	        last if $l eq ".\n";
	    }
	    print $out;' "$port" "$1"
}

# fail_bg PORT FUNC PAYLOAD UNIQUE...: submit a background job of FUNC for
# each UNIQUE, then, as a worker, take each one and answer WORK_FAIL.
fail_bg() {
	local port=$1 f=$2 data=$3 u
	shift 3
	{
		for u; do echo "REQ SUBMIT_JOB_BG $f $u $data"; done
		echo "WAIT $#"
		echo "@2 REQ CAN_DO $f"
		for u; do printf '@2 REQ GRAB_JOB\n@2 WAIT 1\n@2 REQ WORK_FAIL %%H\n'; done
		echo "@2 SYNC"
	} | raw -p "$port" >/dev/null
}

# --- compatibility suites (tests/2x-*.bats) ---

# raw [GMRAW ARGS...]: run tests/tools/gmraw against $PORT (or -p PORT),
# script on stdin, with the handle prefix of the server on that port.
raw() {
	local port=$PORT a prev=
	for a in "$@"; do
		[ "$prev" != -p ] || port=$a
		prev=$a
	done
	"$GM_BUILD/tests/tools/gmraw" -p "$PORT" \
	    ${port:+-P "$(host_prefix "$port")"} "$@"
}

# host_prefix [PORT]: the handle prefix of the server started on PORT
# (default $PORT): gm-server's H:nodename-id, gearmand's H:nodename.
host_prefix() {
	cat "$BATS_FILE_TMPDIR/prefix-${1:-$PORT}" 2>/dev/null
}

# spawn CMD...: start CMD in the background with fd 3 closed and stdin
# from /dev/null; its pid is left in SPAWNED and recorded for spawn_kill.
spawn() {
	"$@" 3>&- </dev/null &
	SPAWNED=$!
	echo "$SPAWNED" >>"$BATS_FILE_TMPDIR/spawned"
}

# spawn_kill: stop everything spawn started (TERM, then KILL after 5 s).
spawn_kill() {
	kill_listed "$BATS_FILE_TMPDIR/spawned" 5
}

# status_row FUNC [PORT]: the admin `status` row of FUNC (tabs as given).
status_row() {
	admin "${2:-$PORT}" status | awk -F '\t' -v f="$1" '$1 == f'
}

# wait_workers FUNC N [PORT]: wait until FUNC has N registered workers.
wait_workers() {
	wait_until 15 eval "[ \"\$(status_row '$1' ${3:-} | cut -f4)\" = '$2' ]"
}

# wait_status FUNC 'TOTAL RUNNING WORKERS' [PORT]: wait for a status row.
wait_status() {
	wait_until 15 eval "[ \"\$(status_row '$1' ${3:-} | cut -f2- | tr '\t' ' ')\" = '$2' ]"
}
