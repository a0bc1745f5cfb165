# Sourced by tests/bench/run.sh: the optional groups of make bench
# (BENCH_ONLY=scale conns tools journal tls, or all) and the broadcast
# and replay scenarios.  Each s_NAME runs one group against the server
# run.sh has started; the helpers (start, stop, g, rec, say) are run.sh's.
# shellcheck shell=bash

# Scenario 7 at the bottom: the same batch with 10,000 jobs queued.
s_scale() {
	local t=$1
	say "  $t: batch over $n_pre queued jobs"
	g -c 4 -W 64 -n "$n_pre" -U "k-" -f pre submit || return
	if g -c 4 -w 8 -W 64 -n "$n_scale" -f batch bg; then
		rec "$t.scale10k.us" "${R[us_per_job]}"
		rec "$t.scale10k.srvus" "${R[srv_us_per_job]}"
	fi
}

# Scenario 6: idle connections.
s_conns() {
	local t=$1
	say "  $t: $n_conns idle connections"
	g -n "$n_conns" conns || return
	rec "$t.conns.bytes" "${R[bytes_per_conn]}"
	rec "$t.conns.echo50" "${R[echo_p50_us]}"
	rec "$t.conns.echo99" "${R[echo_p99_us]}"
	rec "$t.conns.newecho" "${R[new_conn_echo_us]}"
}

# Run one server scenario against gm, gearmand (and for mem the floor),
# each on a fresh server.
pair() {
	local s=$1 t
	for t in gm gearmand $([ "$s" = mem ] && echo fifo); do
		if [ "$t" = gm ] && [ -z "$gm_ok" ]; then
			continue
		fi
		start "$t" $([ "$t" = gm ] && echo --journal none) || continue
		"s_$s" "$t"
		stop
	done
}

# Print milliseconds since the epoch.
ms() {
	date +%s%3N
}

# rec_secs KEY T0 T1: record the seconds from T0 to T1 (both ms()).
rec_secs() {
	rec "$1" "$(awk -v a="$2" -v b="$3" \
	    'BEGIN { printf "%.3f", (b - a) / 1000 }')"
}

# tool_ok: a quick check that gm-submit -n and gm-work work here.
tool_check() {
	local p wp res
	submit_ok= work_ok=
	printf 'a\nbb\nccc\n' >"$work/t3"
	if [ -x "$gmsubmit" ]; then
		"$gen" -p "$sport" -t 60 -w 1 -f tchk worker \
		    >/dev/null 2>&1 3>&- &
		wp=$!
		pids+=("$wp")
		res=$(timeout 20 "$gmsubmit" -h 127.0.0.1 -p "$sport" -n \
		    -f tchk <"$work/t3" 2>&1)
		kill -TERM "$wp" 2>/dev/null
		if wait "$wp" && [ "$res" = "$(cat "$work/t3")" ]; then
			submit_ok=1
		else
			notes+=("gm-submit -n failed its check, scenario 8a\
 skipped: $(printf %s "$res" | head -c 200)")
		fi
	else
		notes+=("no $gmsubmit: scenario 8a (gm-submit -n) skipped")
	fi
	if [ -x "$gmwork" ]; then
		"$gmwork" -h 127.0.0.1 -p "$sport" -f wchk -- cat \
		    >"$work/wchk.log" 2>&1 3>&- </dev/null &
		p=$!
		pids+=("$p")
		if wait_for 10 fn_has_worker wchk &&
		    "$gen" -p "$sport" -t 20 -c 1 -w 0 -n 5 -f wchk fg \
		    >/dev/null 2>"$work/wchk.err"; then
			work_ok=1
		else
			notes+=("gm-work -- cat failed its check, scenarios\
 8b/8c skipped: $(head -c 200 "$work/wchk.err" "$work/wchk.log" \
			    2>/dev/null)")
		fi
		kill -TERM "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	else
		notes+=("no $gmwork: scenarios 8b/8c (gm-work) skipped")
	fi
}

# fn_status FUNC N: field N of FUNC's line in the server's admin status
# (2 queued, 3 running, 4 workers); empty when FUNC is not listed.
fn_status() {
	local line v= f
	exec 8<>"/dev/tcp/127.0.0.1/$sport" || return 1
	printf 'status\n' >&8
	while IFS= read -r -t 5 line <&8; do
		line=${line%$'\r'}
		[ "$line" = . ] && break
		case $line in
		"$1"$'\t'*) IFS=$'\t' read -r -a f <<<"$line"
			v=${f[$2 - 1]} ;;
		esac
	done
	exec 8<&-
	echo "$v"
}

# fn_has_worker FUNC: the admin status of the server lists a worker for it.
fn_has_worker() {
	local n
	n=$(fn_status "$1" 4) && [ "${n:-0}" -gt 0 ]
}

# worker_run KEY FUNC CMD...: time COMMAND as the worker of n_tool
# foreground jobs (window 16), checking every result.
worker_run() {
	local key=$1 fn=$2 p t0 t1
	shift 2
	"$@" >"$work/w.log" 2>&1 3>&- </dev/null &
	p=$!
	pids+=("$p")
	if ! wait_for 10 fn_has_worker "$fn"; then
		fail "$key: worker did not register: $(tail -2 "$work/w.log")"
		kill -TERM "$p" 2>/dev/null
		wait "$p" 2>/dev/null
		return
	fi
	t0=$(ms)
	if "$gen" -p "$sport" -t 240 -c 1 -w 0 -W 16 -n "$n_tool" -f "$fn" \
	    fg >/dev/null 2>"$work/gen.err"; then
		t1=$(ms)
		rec_secs "$key" "$t0" "$t1"
	else
		fail "$key: $(tail -2 "$work/gen.err")"
	fi
	kill -TERM "$p" 2>/dev/null
	wait "$p" 2>/dev/null
}

# submit_run KEY CMD...: time COMMAND submitting n_tool lines (-n), with
# gmbench as the worker, and check its output.
submit_run() {
	local key=$1 wp t0 t1
	shift
	"$gen" -p "$sport" -t 300 -w 4 -g 4 -f tsub worker \
	    >"$work/wk.out" 2>"$work/wk.err" 3>&- &
	wp=$!
	pids+=("$wp")
	t0=$(ms)
	timeout 240 "$@" <"$work/lines" >"$work/sub.out" 2>"$work/sub.err"
	t1=$(ms)
	kill -TERM "$wp" 2>/dev/null
	if ! wait "$wp"; then
		fail "$key: worker: $(tail -2 "$work/wk.err")"
	elif ! cmp -s "$work/lines" "$work/sub.out"; then
		fail "$key: output differs from input: $(head -c 200 \
		    "$work/sub.err")"
	else
		rec_secs "$key" "$t0" "$t1"
	fi
}

# stream_run KEY: time gm-work --stream over n_tool queued background
# jobs into wc -l, checking the count of records.
stream_run() {
	local key=$1 t0 t1 n
	if ! "$gen" -p "$sport" -t 120 -c 1 -w 0 -n "$n_tool" -f wst submit \
	    >/dev/null 2>"$work/gen.err"; then
		fail "$key: $(tail -2 "$work/gen.err")"
		return
	fi
	t0=$(ms)
	n=$(timeout 240 "$gmwork" -h 127.0.0.1 -p "$sport" -c "$n_tool" \
	    --stream -f wst 2>"$work/w.log" 3>&- </dev/null | wc -l)
	t1=$(ms)
	if [ "$n" = "$n_tool" ]; then
		rec_secs "$key" "$t0" "$t1"
	else
		fail "$key: $n of $n_tool records: $(tail -2 "$work/w.log")"
	fi
}

# Scenario 8: the tools, all against gearmand (the same server for both
# sides, so only the tool differs).
s_tools() {
	start gearmand || return
	if [ -z "$tools_checked" ]; then
		tool_check
		tools_checked=1
		awk -v n="$n_tool" 'BEGIN { for (i = 0; i < n; i++)
		    printf "%010d%s\n", i, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" }' \
		    >"$work/lines"
	fi
	say "  tools: -n over $n_tool lines"
	[ -n "$submit_ok" ] && submit_run tool.submit.gm \
	    "$gmsubmit" -h 127.0.0.1 -p "$sport" -n -f tsub
	submit_run tool.submit.gearman \
	    gearman -h 127.0.0.1 -p "$sport" -n -f tsub
	say "  tools: cat over $n_tool jobs"
	[ -n "$work_ok" ] && worker_run tool.work.gm wk1 \
	    "$gmwork" -h 127.0.0.1 -p "$sport" -f wk1 -- cat
	worker_run tool.work.gearman wk2 \
	    gearman -h 127.0.0.1 -p "$sport" -w -f wk2 -- cat
	[ -n "$work_ok" ] && worker_run tool.work.gmj2 wk3 \
	    "$gmwork" -h 127.0.0.1 -p "$sport" -j 2 -f wk3 -- cat
	say "  tools: gm-work -C and --stream over $n_tool jobs"
	[ -n "$work_ok" ] && worker_run tool.work.gmco wk4 \
	    "$gmwork" -h 127.0.0.1 -p "$sport" -C -f wk4 -- cat
	[ -n "$work_ok" ] && worker_run tool.work.gmco4 wk5 \
	    "$gmwork" -h 127.0.0.1 -p "$sport" -C -j 4 -f wk5 -- cat
	[ -n "$work_ok" ] && stream_run tool.work.gmstream
	stop
}

# journal_check: does gm-server run with --journal DIR?  (A failure here
# is a note, not an error of the run.)
journal_check() {
	local ne=${#errors[@]}
	journal_ok=
	mkdir -p "$work/jchk"
	if [ -n "$gm_ok" ] &&
	    start gm --journal "$work/jchk" 2>/dev/null; then
		if g -c 1 -w 1 -n 100 -f jchk bg; then
			journal_ok=1
		fi
		stop
	fi
	if [ -z "$journal_ok" ]; then
		errors=("${errors[@]:0:$ne}")
		notes+=("gm-server --journal DIR does not work yet:\
 durable scenarios J1-J4 skipped")
	fi
}

# Durability (issue 5): background end to end with gm-server's durable
# default, relaxed sync, and gearmand with its libsqlite3 queue.
s_journal() {
	local d
	[ -n "$journal_checked" ] || { journal_check; journal_checked=1; }
	if [ -n "$journal_ok" ]; then
		d=$work/j$round
		rm -rf "$d" && mkdir -p "$d"
		say "  gm: durable (fsync before ack)"
		if start gm --journal "$d"; then
			g -c 4 -w 8 -W 64 -n "$n_bg" -f jd bg &&
			    rec gm.dur.rate "${R[rate]}"
			stop
		fi
		rm -rf "$d" && mkdir -p "$d"
		say "  gm: relaxed (--journal-sync 10)"
		if start gm --journal "$d" --journal-sync 10; then
			g -c 4 -w 8 -W 64 -n "$n_bg" -f jr bg &&
			    rec gm.relax.rate "${R[rate]}"
			stop
		fi
		rm -rf "$d"
	fi
	[ -n "$journal_ok" ] && s_replay
	say "  gearmand: -q libsqlite3"
	rm -f "$work/gd.sqlite"
	if start gearmand -q libsqlite3 --libsqlite3-db "$work/gd.sqlite"; then
		g -c 4 -w 8 -W 64 -n "$n_sql" -D 3 -U "q-" -f jq bg &&
		    rec gearmand.sql.rate "${R[rate]}"
		stop
	fi
}

# fn_queued FUNC: the number of queued jobs the admin status shows.
fn_queued() {
	local n
	n=$(fn_status "$1" 2) || return 1
	echo "${n:-0}"
}

# TLS (issue 15): background end to end through the plain port and the
# TLS port of one gm-server, in turn (the order flips each round).
s_tls() {
	local plain tlsport k
	[ -n "$gm_ok" ] || return 0
	if [ ! -s "$work/tls.pem" ] && ! openssl req -x509 -newkey rsa:2048 \
	    -nodes -days 2 -subj /CN=localhost -keyout "$work/tls.key" \
	    -out "$work/tls.pem" 2>/dev/null; then
		fail "openssl cannot make a certificate: TLS row skipped"
		return 1
	fi
	say "  gm: background e2e, plain and TLS ports of one server"
	start gm --journal none --ssl-port 0 --ssl-certificate \
	    "$work/tls.pem" --ssl-key "$work/tls.key" || return 1
	plain=${sport%%$'\n'*}
	tlsport=${sport##*$'\n'}
	for k in $( [ $((round % 2)) = 1 ] && echo plain tls || echo tls plain)
	do
		if [ "$k" = tls ]; then
			sport=$tlsport
			g -S -c 4 -w 8 -W 64 -n "$n_bg" -f tt bg && rec_rate tls
		else
			sport=$plain
			g -c 4 -w 8 -W 64 -n "$n_bg" -f tp bg &&
			    rec_rate tlsplain
		fi
	done
	stop
}

# Broadcast (issue 11): n_members gm-work members (echo mode, ids m1..),
# one `gm-submit --all` timed from start to exit (ms), every reply checked;
# then one `gm-submit -b --all` (a durable job per member, the journal
# syncing every record) timed to its exit, when every handle is back, and
# to the moment the server has none of them left (polled every 20 ms).
n_members=100
s_bcast() {
	local i p t0 t1 t2 n mp=()
	[ -n "$gm_ok" ] || return 0
	say "  gm: broadcast to $n_members members"
	rm -rf "$work/jbc"
	start gm --journal "$work/jbc" || return 1
	for i in $(seq "$n_members"); do
		"$gmwork" -h 127.0.0.1 -p "$sport" --id "m$i" -f bc \
		    >/dev/null 2>>"$work/bcw.log" 3>&- </dev/null &
		pids+=("$!")
		mp+=("$!")
	done
	if ! wait_for 60 eval '[ "$("$top/build/bin/gm-admin" -h \
	    127.0.0.1 -p "$sport" --raw members bc | grep -c "^m")" \
	    = "$n_members" ]'; then
		fail "bcast: $n_members members did not register"
	else
		t0=$(ms)
		"$gmsubmit" -h 127.0.0.1 -p "$sport" -t 60000 --all -f bc \
		    hello >"$work/bc.out" 2>"$work/bc.err"
		t1=$(ms)
		n=$(grep -c '^m[0-9]*: hello$' "$work/bc.out")
		if [ "$n" != "$n_members" ]; then
			fail "bcast: $n replies of $n_members: $(tail -1 \
			    "$work/bc.err")"
		else
			rec gm.bcast.ms "$((t1 - t0))"
		fi
		t0=$(ms)
		"$gmsubmit" -h 127.0.0.1 -p "$sport" -t 60000 -b --all -f bc \
		    hello >"$work/bcb.out" 2>"$work/bcb.err"
		t1=$(ms)
		n=$(grep -c '^m[0-9]*: [^ ]*:[0-9]*$' "$work/bcb.out")
		if [ "$n" != "$n_members" ]; then
			fail "bcast -b: $n handles of $n_members: $(tail -1 \
			    "$work/bcb.err")"
		elif ! wait_for 60 eval '"$top/build/bin/gm-admin" -h \
		    127.0.0.1 -p "$sport" --raw status | grep -q \
		    "^bc	0	0	"'; then
			fail "bcast -b: the members did not run their jobs"
		else
			t2=$(ms)
			rec gm.bcastbg.ms "$((t1 - t0))"
			rec gm.bcastbgran.ms "$((t2 - t0))"
		fi
	fi
	# Members first (they would reconnect to a stopped server forever).
	for p in "${mp[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${mp[@]}"; do
		wait "$p" 2>/dev/null
	done
	stop
}

# Replay (issue 5): fill the durable journal with n_mem background jobs,
# kill the server (SIGKILL), and time a restart up to listening, when
# every job must be queued again.
s_replay() {
	local d=$work/replay t0 t1 q
	rm -rf "$d" && mkdir -p "$d"
	say "  gm: durable fill of $n_mem jobs, SIGKILL, replay"
	start gm --journal "$d" || return
	if ! g -c 4 -W 64 -n "$n_mem" -U "r-" -f rp submit; then
		stop
		return
	fi
	rec gm.durfill.rate "${R[rate]}"
	kill -KILL "$spid"
	wait "$spid" 2>/dev/null
	spid=
	t0=$(ms)
	start gm --journal "$d" || return
	t1=$(ms)
	q=$(fn_queued rp)
	if [ "$q" = "$n_mem" ]; then
		rec_secs gm.replay.secs "$t0" "$t1"
	else
		fail "replay: $q of $n_mem jobs queued after restart"
	fi
	stop
	rm -rf "$d"
}
