# A test bed of hosts: network namespaces joined by veth pairs to one
# bridge, addresses in 198.18.0.0/15 that exist only inside the test.
#
#   netns_setup            make the bed (in setup_file); on a machine without
#                          root or namespaces it makes nothing and netns_skip
#                          then skips with the reason
#   netns_bed NAME...      netns_setup and the hosts (=NAME: netns_root)
#   netns_host NAME        a host: a namespace with lo and eth0 on the bridge;
#                          its address is in NETNS_IP_NAME
#   netns_root NAME        this namespace as host NAME (a veth on the bridge),
#                          for servers started here by server_start
#   netns_run NAME CMD...  run CMD on host NAME
#   netns_connect NAME IP PORT   host NAME reaches IP:PORT
#   netns_spawn NAME CMD.. start CMD on host NAME in the background (stdin
#                          /dev/null, fd 3 closed); its pid is in SPAWNED
#   netns_cut NAME         pull host NAME's cable: its packets vanish, no
#                          reset reaches anyone; netns_restore NAME plugs it in
#   netns_kill NAME [SIG]  kill every process on host NAME, by pid (KILL)
#   netns_names NAME LINE...  host NAME's /etc/hosts is these lines ("ADDR
#                          NAME"), for what netns_run and netns_spawn start
#                          (ip netns exec mounts /etc/netns/NS/hosts there);
#                          netns_reset removes it
#   netns_reset            between tests: kill what runs on the hosts, plug
#                          every cable in
#   netns_teardown         remove everything the bed made (teardown_file; an
#                          EXIT trap does it too when the run is cut short)
#   netns_skip             in setup: skip unless the bed is there
#
# The bridge lives in a namespace of its own ("switch"), so a bed touches
# nothing in this namespace unless netns_root asks for it.  Each bed is named
# after the pid that made it; netns_setup removes the beds of dead pids.

: "${NETNS_TAG:=gmbed$$}"
: "${NETNS_VETH:=gmv$$}"

# netns_setup: make the switch namespace and its bridge.
netns_setup() {
	local reason=
	# Outside the test's folders: teardown still reads it after bats has
	# removed them.
	NETNS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/$NETNS_TAG.XXXXXX")
	export NETNS_DIR
	if [ "$(id -u)" != 0 ]; then
		reason="needs root for network namespaces"
	elif ! command -v ip >/dev/null; then
		reason="needs ip(8) from iproute2"
	fi
	if [ -z "$reason" ]; then
		netns_reap
		if ! ip netns add "$NETNS_TAG-sw" 2>"$NETNS_DIR/err"; then
			reason="network namespaces unavailable: $(cat "$NETNS_DIR/err")"
		elif ! ip -n "$NETNS_TAG-sw" link add br0 type bridge \
		    2>"$NETNS_DIR/err"; then
			reason="no bridge device: $(cat "$NETNS_DIR/err")"
			ip netns del "$NETNS_TAG-sw"
		fi
	fi
	if [ -n "$reason" ]; then
		echo "$reason" >"$NETNS_DIR/reason"
		export NETNS_DIR
		return 0
	fi
	ip -n "$NETNS_TAG-sw" link set br0 up
	ip -n "$NETNS_TAG-sw" link set lo up
	# One /24 per bed, so that two beds attached to this namespace differ.
	if ! netns_claim_net; then
		echo "no free /24 in 198.18.0.0/16 for a test bed" \
		    >"$NETNS_DIR/reason"
		ip netns del "$NETNS_TAG-sw"
		return 0
	fi
	echo 0 >"$NETNS_DIR/count"
	: >"$NETNS_DIR/hosts"
	echo "$NETNS_TAG" >"$NETNS_DIR/tag"
	echo "$NETNS_NET" >"$NETNS_DIR/net"
	touch "$NETNS_DIR/ready"
	netns_trap
	netns_watch
	export NETNS_DIR NETNS_NET NETNS_TAG NETNS_VETH
}

# netns_claim_net: claim a /24 of 198.18.0.0/16 that no other live bed on
# this machine holds (another suite, or another run of the tests, may make
# one at the same time): a folder per /24 made with mkdir, which only one
# can make, holding the maker's pid; one whose maker is gone is taken over.
# Sets NETNS_NET; netns_teardown gives it back.
netns_claim_net() {
	local i n dir pid
	for ((i = 0; i < 250; i++)); do
		n=$((($$ + i) % 250 + 1))
		dir=${TMPDIR:-/tmp}/gm-netns-198.18.$n
		if ! mkdir "$dir" 2>/dev/null; then
			pid=$(cat "$dir/pid" 2>/dev/null)
			# Still being made, or its maker is alive: next.
			[ -n "$pid" ] && [ ! -d "/proc/$pid" ] || continue
			mv "$dir" "$dir.stale.$$" 2>/dev/null || continue
			rm -rf "$dir.stale.$$"
			mkdir "$dir" 2>/dev/null || continue
		fi
		echo "$$" >"$dir/pid"
		echo "$dir" >"$NETNS_DIR/claim"
		NETNS_NET="198.18.$n"
		return 0
	done
	return 1
}

# netns_bed NAME...: netns_setup, then a host per NAME; a NAME of the form
# =NAME is this namespace (netns_root).  Nothing when the bed cannot be made.
netns_bed() {
	local h
	netns_setup
	[ -e "$NETNS_DIR/ready" ] || return 0
	for h in "$@"; do
		case $h in
		=*) netns_root "${h#=}" || return 1 ;;
		*) netns_host "$h" || return 1 ;;
		esac
	done
}

# netns_trap: run netns_teardown on exit too, before the trap already set.
netns_trap() {
	local prev
	eval "set -- $(trap -p EXIT)"
	prev=${3:-}
	# shellcheck disable=SC2064
	trap "netns_teardown; $prev" EXIT
}

# netns_watch: a watcher that tears the bed down once this shell (the
# bats file's process, whose EXIT trap bats owns) is gone, however it ends.
netns_watch() {
	local maker=$$
	(
		trap '' INT TERM HUP
		tail --pid="$maker" -f /dev/null
		netns_teardown
	) </dev/null >/dev/null 2>&1 3>&- &
}

# netns_reap: remove the beds whose maker is gone.
netns_reap() {
	local ns pid
	for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }'); do
		case $ns in
		gmbed[0-9]*-*) ;;
		*) continue ;;
		esac
		pid=${ns#gmbed}
		pid=${pid%%-*}
		[ -d "/proc/$pid" ] && continue
		netns_kill_ns "$ns" KILL
		ip netns del "$ns" 2>/dev/null
	done
}

# netns_skip: skip the test when the bed could not be made.
netns_skip() {
	[ -n "${NETNS_DIR:-}" ] && [ -e "$NETNS_DIR/ready" ] ||
	    skip "$(cat "$NETNS_DIR/reason" 2>/dev/null || echo "no test bed")"
}

# netns_add NAME NS: a veth from namespace NS ("" for this one) to the
# bridge, with the next address; sets NETNS_IP_NAME.
netns_add() {
	local name=$1 ns=$2 i ip
	i=$(($(cat "$NETNS_DIR/count") + 1))
	echo "$i" >"$NETNS_DIR/count"
	ip="$NETNS_NET.$i"
	# Names of at most 15 bytes: the port on the switch, the host's end.
	ip link add "${NETNS_VETH}p$i" type veth peer name "${NETNS_VETH}h$i" || return 1
	ip link set "${NETNS_VETH}p$i" netns "$NETNS_TAG-sw" || return 1
	ip -n "$NETNS_TAG-sw" link set "${NETNS_VETH}p$i" master br0 up || return 1
	if [ -n "$ns" ]; then
		ip link set "${NETNS_VETH}h$i" netns "$ns" || return 1
		ip -n "$ns" link set "${NETNS_VETH}h$i" name eth0 || return 1
		ip -n "$ns" addr add "$ip/24" dev eth0 || return 1
		ip -n "$ns" link set eth0 up || return 1
	else
		ip addr add "$ip/24" dev "${NETNS_VETH}h$i" || return 1
		ip link set "${NETNS_VETH}h$i" up || return 1
	fi
	printf '%s %s %s %s\n' "$name" "${ns:--}" "$i" "$ip" \
	    >>"$NETNS_DIR/hosts"
	printf -v "NETNS_IP_$name" %s "$ip"
	export "NETNS_IP_$name"
}

# netns_host NAME: a new host on the bridge.
netns_host() {
	ip netns add "$NETNS_TAG-$1" || return 1
	ip -n "$NETNS_TAG-$1" link set lo up || return 1
	netns_add "$1" "$NETNS_TAG-$1"
}

# netns_root NAME: this namespace joins the bridge as host NAME.
netns_root() {
	netns_add "$1" ""
}

# netns_field NAME COLUMN: a column of host NAME's line in the hosts file.
netns_field() {
	awk -v n="$1" -v c="$2" '$1 == n { print $c }' "$NETNS_DIR/hosts"
}

# netns_run NAME CMD...: run CMD on host NAME.
netns_run() {
	local ns
	ns=$(netns_field "$1" 2)
	shift
	if [ "$ns" = - ]; then
		"$@"
	else
		ip netns exec "$ns" "$@"
	fi
}

# netns_connect NAME IP PORT: host NAME can open a connection to IP:PORT
# (within 3 s).
netns_connect() {
	netns_run "$1" timeout 3 bash -c "exec 9<>/dev/tcp/$2/$3" 2>/dev/null
}

# netns_spawn NAME CMD...: start CMD on host NAME in the background.
netns_spawn() {
	local name=$1
	shift
	netns_run "$name" "$@" 3>&- </dev/null &
	SPAWNED=$!
	echo "$SPAWNED" >>"$NETNS_DIR/pids"
}

# netns_cut NAME: take host NAME's port on the switch down; netns_restore
# NAME brings it back.
netns_cut() {
	ip -n "$NETNS_TAG-sw" link set "${NETNS_VETH}p$(netns_field "$1" 3)" down
}

netns_restore() {
	ip -n "$NETNS_TAG-sw" link set "${NETNS_VETH}p$(netns_field "$1" 3)" up
}

# netns_kill_ns NS SIG: signal every process in namespace NS.
netns_kill_ns() {
	local pid
	for pid in $(ip netns pids "$1" 2>/dev/null); do
		kill "-$2" "$pid" 2>/dev/null
	done
}

# netns_empty NS: no process is left in namespace NS.
netns_empty() {
	[ -z "$(ip netns pids "$1" 2>/dev/null)" ]
}

# netns_kill NAME [SIG]: signal every process on host NAME (a namespace of
# its own), by pid; with KILL, wait until they are gone (a killed process
# in the middle of a disk write exits once the write completes); if they
# are not, show the survivors with their state.
netns_kill() {
	local ns sig=${2:-KILL} left
	ns=$(netns_field "$1" 2)
	[ "$ns" != - ] || return 1
	netns_kill_ns "$ns" "$sig"
	[ "$sig" = KILL ] || return 0
	wait_until 30 netns_empty "$ns" && return 0
	left=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ,)
	echo "netns_kill $1: still running 30 s after SIGKILL:" >&2
	[ -z "$left" ] || ps -o pid,stat,wchan:32,etime,args -p "${left%,}" >&2
	return 1
}

# netns_names NAME LINE...: the lines are host NAME's /etc/hosts.
netns_names() {
	local ns
	ns=$(netns_field "$1" 2)
	shift
	mkdir -p "/etc/netns/$ns" && printf '%s\n' "$@" >"/etc/netns/$ns/hosts"
}

# netns_names_clear: remove the hosts files netns_names wrote.
netns_names_clear() {
	rm -rf "/etc/netns/$NETNS_TAG"-*
	rmdir /etc/netns 2>/dev/null
	return 0
}

# netns_reset: kill every process on the hosts (and what netns_spawn
# started), plug every host's cable in: the bed as made, for the next test.
netns_reset() {
	local name ns i ip pid
	[ -n "${NETNS_DIR:-}" ] && [ -e "$NETNS_DIR/ready" ] || return 0
	if [ -f "$NETNS_DIR/pids" ]; then
		while read -r pid; do
			kill -KILL "$pid" 2>/dev/null
		done <"$NETNS_DIR/pids"
		: >"$NETNS_DIR/pids"
	fi
	while read -r name ns i ip; do
		[ "$ns" = - ] || netns_kill "$name" KILL
		netns_restore "$name"
	done <"$NETNS_DIR/hosts"
	netns_names_clear
}

# netns_teardown: kill what runs on the hosts, remove the namespaces and
# the veths of this namespace, forget the bed.
netns_teardown() {
	local name ns i ip pid
	[ -n "${NETNS_DIR:-}" ] && [ -e "$NETNS_DIR/ready" ] || {
		[ -z "${NETNS_DIR:-}" ] || rm -rf "$NETNS_DIR"
		return 0
	}
	rm -f "$NETNS_DIR/ready"
	if [ -f "$NETNS_DIR/pids" ]; then
		while read -r pid; do
			kill -KILL "$pid" 2>/dev/null
		done <"$NETNS_DIR/pids"
	fi
	while read -r name ns i ip; do
		if [ "$ns" = - ]; then
			ip link del "${NETNS_VETH}h$i" 2>/dev/null
		else
			netns_kill_ns "$ns" KILL
			ip netns del "$ns" 2>/dev/null
		fi
	done <"$NETNS_DIR/hosts"
	ip netns del "$NETNS_TAG-sw" 2>/dev/null
	netns_names_clear
	[ ! -s "$NETNS_DIR/claim" ] || rm -rf "$(cat "$NETNS_DIR/claim")"
	rm -rf "$NETNS_DIR"
	true
}
