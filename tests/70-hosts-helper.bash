# Functions for the suites on the test bed of hosts (tests/70-*.bats):
# gm-servers on hosts of the bed, asked from host c, and the figures the
# tests measure.  Needs helper.bash and netns.bash loaded first.

# hstart HOST: gm-server on HOST, port 4731, its journal and log in the
# test's folder (a restart keeps both).
hstart() {
	netns_spawn "$1" "$GM_BIN/gm-server" -L "$(ip_of "$1")" -p 4731 \
	    --journal "$BATS_TEST_TMPDIR/j-$1" -l "$BATS_TEST_TMPDIR/$1.log"
	wait_until 20 netns_connect c "$(ip_of "$1")" 4731
}

# ip_of HOST: its address on the bed.
ip_of() {
	local v="NETNS_IP_$1"
	echo "${!v}"
}

# prefix_of HOST: the handle prefix its gm-server logged (H:node-id).
prefix_of() {
	sed -n 's/.*job handles: \(.*\):N$/\1/p' "$BATS_TEST_TMPDIR/$1.log" |
	    tail -n 1
}

# queued HOST FUNC: the jobs queued for FUNC on HOST's server, asked from c.
queued() {
	netns_run c "$GM_BIN/gm-admin" -h "$(ip_of "$1"):4731" --raw status |
	    awk -v f="$2" -F '\t' '$1 == f { print $2 }'
}

# now_ms: the time in milliseconds, for figures.
now_ms() {
	date +%s%3N
}

# figures WORDS...: a line of measured figures in the test's output.
figures() {
	echo "# figures: $*" >&3
}
