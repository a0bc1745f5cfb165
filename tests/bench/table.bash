# Sourced by tests/bench/run.sh: the statistics (median, min-max over
# rounds), the ratios and the printing of the tables from the values the
# scenarios recorded with rec.
# shellcheck shell=bash

# median/min/max of a key's values: "median min max n", or empty.
stats() {
	awk -v k="$1" '$1 == k { print $3 }' "$vals" | sort -g |
	    awk '{ v[++n] = $1 }
	    END {
		if (n == 0) exit
		m = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
		print m, v[1], v[n], n
	    }'
}

# Format a number: integers for large values, else 3 significant digits.
fmt() {
	awk -v x="$1" 'BEGIN {
		if (x == "") { print "-"; exit }
		a = x < 0 ? -x : x
		if (a >= 1000) printf "%.0f", x
		else if (a >= 100) printf "%.0f", x
		else if (a >= 10) printf "%.1f", x
		else printf "%.2f", x }'
}

# row LABEL KEY_A KEY_B TARGET [cpu]: one line of the table.  TARGET is a
# condition on A/B (">=1.3", "<=1.0"), "A<=300" on A alone, or "".  With
# "cpu", the CPU use of generator and server is shown too.
row() {
	local label=$1 ka=$2 kb=$3 target=$4 showcpu=${5:-} a b am bm
	local ratio verdict cpu pa pb
	a=$(stats "$ka")
	b=$(stats "$kb")
	am=${a%% *}
	bm=${b%% *}
	ratio=$(ratio "$am" "$bm")
	verdict=
	case $target in
	"") ;;
	A*)
		if [ -n "$am" ]; then
			verdict=$(cond "$am" "${target#A}")
		else
			verdict=n/a
		fi ;;
	*)
		if [ "$ratio" != - ]; then
			verdict=$(cond "$ratio" "$target")
		else
			verdict=n/a
		fi ;;
	esac
	pa=-
	pb=-
	if [ -n "$a" ]; then
		set -- $a
		pa="$(fmt "$1") ($(fmt "$2")-$(fmt "$3"))"
	fi
	if [ -n "$b" ]; then
		set -- $b
		pb="$(fmt "$1") ($(fmt "$2")-$(fmt "$3"))"
	fi
	cpu=
	ka=${ka%.*}
	kb=${kb%.*}
	if [ "$showcpu" = cpu ]; then
		cpu="gen $(fmt "$(stats "$ka.gen_pct" | cut -d' ' -f1)")/$(fmt \
		    "$(stats "$kb.gen_pct" | cut -d' ' -f1)")%"
		cpu="$cpu srv $(fmt "$(stats "$ka.srv_pct" | cut -d' ' -f1)")/$(
		    fmt "$(stats "$kb.srv_pct" | cut -d' ' -f1)")%"
	fi
	printf '%-44s %-26s %-26s %6s  %-7s %-7s %s\n' "$label" "$pa" "$pb" \
	    "$ratio" "$target" "$verdict" "$cpu"
}

# cond RATIO SPEC: "met" when RATIO satisfies SPEC (">=0.9", "<=1.1").
cond() {
	awk -v r="$1" -v t="$2" 'BEGIN { op = substr(t, 1, 2)
	    v = substr(t, 3) + 0; r += 0
	    print (op == "<=" ? r <= v : r >= v) ? "met" : "MISSED" }'
}

# cell KEY: "median min-max" of KEY, or "- -".
cell() {
	local st
	st=$(stats "$1")
	if [ -z "$st" ]; then
		echo "- -"
		return
	fi
	set -- $st
	echo "$(fmt "$1") $(fmt "$2")-$(fmt "$3")"
}

# ratio A B: A/B of two numbers, or "-".
ratio() {
	if [ -z "$1" ] || [ -z "$2" ]; then
		echo -
		return
	fi
	awk -v a="$1" -v b="$2" \
	    'BEGIN { if (b != 0) printf "%.2f", a / b; else print "-" }'
}

# crow ROW LOOP KEY_GM KEY_GD KEY_FLOOR TARGET: one line of the core
# table.  Keys end in the metric (gm.bg.rate); the server's CPU per job is
# the same key ending in srvus.  TARGET: space-separated conditions on
# gm/gd ("gd>=1.0"), gm/floor ("fl<=1.1") or the gm figure ("gm>=0.9").
crow() {
	local rowname=$1 loop=$2 kg=$3 kd=$4 kf=$5 target=$6
	local mg md mf rd rf cg cd cf c v verdict=
	mg=$(stats "$kg" | cut -d' ' -f1)
	md=$(stats "$kd" | cut -d' ' -f1)
	mf=$(stats "$kf" | cut -d' ' -f1)
	rd=$(ratio "$mg" "$md")
	rf=$(ratio "$mg" "$mf")
	cg=$(fmt "$(stats "${kg%.*}.srvus" | cut -d' ' -f1)")
	cd=$(fmt "$(stats "${kd%.*}.srvus" | cut -d' ' -f1)")
	cf=$(fmt "$(stats "${kf%.*}.srvus" | cut -d' ' -f1)")
	for c in $target; do
		case $c in
		gd*) v=$rd ;;
		fl*) v=$rf ;;
		gm*) v=$mg ;;
		esac
		if [ "$v" = - ] || [ -z "$v" ]; then
			verdict=n/a
			break
		fi
		[ "$(cond "$v" "${c#??}")" = met ] || verdict=MISSED
	done
	[ -n "$target" ] && [ -z "$verdict" ] && verdict=met
	printf "$cfmt" "$rowname" "$loop" $(cell "$kg") $(cell "$kd") \
	    $(cell "$kf") "$rd" "$rf" "$cg" "$cd" "$cf" \
	    "${target// /,}" "$verdict"
}
cfmt='%-24s %-10s %8s %-15s %8s %-15s %8s %-15s %5s %8s %6s %6s %9s  %-16s %s\n'

# The core table: every row against gearmand and the floor.
core_table() {
	echo "core rows: gm = gm-server --journal none (durable rows: its" \
	    "default journal, fsync before JOB_CREATED); gd = gearmand" \
	    "$gd_ver $gd_opts; floor = tests/bench/fifo"
	echo "cells: median and min-max over the rounds; gm/gd, gm/floor:" \
	    "ratios of the medians (above 1 is better for jobs_s, below 1" \
	    "for us, B and ms); cpu_*: the server's CPU per job, us (median," \
	    "utime+stime from /proc/PID/stat); loop: the worker loop (gen =" \
	    "gmbench's, libgearman = tests/bench/lgworker); latency rows pin" \
	    "server, client and worker to CPU $pincpu"
	echo
	printf "$cfmt" row loop gm gm_range gd gd_range floor floor_range \
	    gm/gd gm/floor cpu_gm cpu_gd cpu_floor target verdict
	crow fg_lat_p50_us_pinned gen gm.lat.p50 gearmand.lat.p50 \
	    fifo.lat.p50 "gd<=0.85 fl<=1.1"
	crow fg_lat_p50_us_pinned libgearman gm.lglat.p50 gearmand.lglat.p50 \
	    fifo.lglat.p50 "gd<=0.85 fl<=1.1"
	crow fg_lat_p99_us_pinned gen gm.lat.p99 gearmand.lat.p99 \
	    fifo.lat.p99 ""
	crow fg_lat_p99_us_pinned libgearman gm.lglat.p99 gearmand.lglat.p99 \
	    fifo.lglat.p99 ""
	crow drain_8w_jobs_s gen gm.drain.rate gearmand.drain.rate \
	    fifo.drain.rate "gd>=1.0 fl>=0.9"
	crow drain_8w_jobs_s libgearman gm.lgdrain.rate \
	    gearmand.lgdrain.rate fifo.lgdrain.rate "gd>=1.0 fl>=0.9"
	crow drain_8w_8grabs_jobs_s gen gm.drainpipe.rate \
	    gearmand.drainpipe.rate fifo.drainpipe.rate ""
	crow bg_e2e_jobs_s gen gm.bg.rate gearmand.bg.rate fifo.bg.rate \
	    "gd>=1.0 fl>=0.9"
	crow bg_e2e_jobs_s libgearman gm.lgbg.rate gearmand.lgbg.rate \
	    fifo.lgbg.rate "gd>=1.0 fl>=0.9"
	crow bg_e2e_8grabs_jobs_s gen gm.bgpipe.rate gearmand.bgpipe.rate \
	    fifo.bgpipe.rate ""
	crow bg_durable_jobs_s gen gmj.bg.rate gearmand.bg.rate fifo.bg.rate \
	    "gd>=1.0"
	crow bg_durable_jobs_s libgearman gmj.lgbg.rate gearmand.lgbg.rate \
	    fifo.lgbg.rate "gd>=1.0"
	crow bg_durable/gm_memory gen gmj.bgmem.ratio - - "gm>=0.9"
	crow bg_durable/gm_memory libgearman gmj.lgbgmem.ratio - - "gm>=0.9"
	crow submit_jobs_s gen gm.submit.rate gearmand.submit.rate \
	    fifo.submit.rate ""
	crow fg_16c_8w_jobs_s gen gm.fg.rate gearmand.fg.rate fifo.fg.rate ""
	crow mem_bytes_per_job gen gm.mem.bytes gearmand.mem.bytes \
	    fifo.mem.bytes ""
	crow bcast_${n_members}_ms gm-work gm.bcast.ms - - ""
	crow bcast_bg_durable_${n_members}_ms gm-work gm.bcastbg.ms - - ""
	crow bcast_bg_all_ran_${n_members}_ms gm-work gm.bcastbgran.ms - - ""
}

# has GROUP: GROUP ran in this run.
has() {
	case " $only " in
	*" $1 "*) return 0 ;;
	esac
	return 1
}

# The results table: the core rows, then the groups that ran.
table() {
	local cpu mem
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' \
	    /proc/meminfo)
	echo "gm bench: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores" \
	    "($cpu), $mem, Linux $(uname -r)"
	echo "command: make bench (tests/bench/run.sh), $rounds rounds," \
	    "servers in turn within each round; groups: $only; payload 100" \
	    "bytes"
	echo "loadavg: before $load0; after $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "gm = ${gm_ver:-gm-server (not run)}"
	echo "gearmand settings tried (background end-to-end, $n_tune jobs):"
	printf '    %s\n' "${tune[@]}"
	echo
	core_table
	if has mem; then
		echo
		echo "A = gm-server --journal none, B = gearmand; cells: median" \
		    "(min-max); ratio = A/B of medians"
		printf '%-44s %-26s %-26s %6s  %-7s %-7s %s\n' scenario A B \
		    A/B target verdict cpu
		row "5b fill $n_mem unique-id jobs, jobs/s" gm.mem.fill \
		    gearmand.mem.fill ""
		row "5c drain $n_mem (8 workers x 8 grabs), s" gm.mem.drain \
		    gearmand.mem.drain ""
	fi
	if has conns; then
		row "6a RSS per idle connection, B" gm.conns.bytes \
		    gearmand.conns.bytes ""
		row "6b ECHO p50 with $n_conns open, us" gm.conns.echo50 \
		    gearmand.conns.echo50 ""
		row "6b ECHO p99 with $n_conns open, us" gm.conns.echo99 \
		    gearmand.conns.echo99 ""
		row "6c connect + ECHO with them open, us" gm.conns.newecho \
		    gearmand.conns.newecho ""
	fi
	if has scale; then
		row "7a wall us/job, batch over $n_pre queued" gm.scale10k.us \
		    gearmand.scale10k.us ""
		row "7b wall us/job, batch over $n_mem queued" gm.scale1m.us \
		    gearmand.scale1m.us ""
		row "7c server CPU us/job over $n_pre queued" \
		    gm.scale10k.srvus gearmand.scale10k.srvus ""
		row "7d server CPU us/job over $n_mem queued" \
		    gm.scale1m.srvus gearmand.scale1m.srvus ""
		row "7e CPU/job ratio 7d/7c (flat = 1)" gm.scale.flat \
		    gearmand.scale.flat "A<=1.25"
	fi
	if has tools; then
		echo
		echo "tools (both against gearmand; A = gm tool, B = gearman" \
		    "tool):"
		row "8a -n over $n_tool lines, s" tool.submit.gm \
		    tool.submit.gearman "<=0.1"
		row "8b worker 'cat' x $n_tool jobs, s" tool.work.gm \
		    tool.work.gearman ""
		row "8c gm-work -j 2 'cat' x $n_tool, s" tool.work.gmj2 \
		    tool.work.gearman ""
		echo "gm-work -C and --stream (issue 13; A = the mode, B = a" \
		    "process per job: 8b's A, or gearman -w):"
		row "8d -C 'cat' x $n_tool vs per-job, s" tool.work.gmco \
		    tool.work.gm "<=0.033"
		row "8e -C -j 4 'cat' x $n_tool vs per-job, s" tool.work.gmco4 \
		    tool.work.gm "<=0.033"
		row "8f --stream x $n_tool bg vs per-job, s" \
		    tool.work.gmstream tool.work.gm "<=0.033"
		row "8g -C 'cat' x $n_tool vs gearman -w, s" tool.work.gmco \
		    tool.work.gearman ""
		row "8h --stream x $n_tool vs gearman -w, s" \
		    tool.work.gmstream tool.work.gearman ""
	fi
	if has journal; then
		echo
		echo "durability (issue 5), background end-to-end, jobs/s:"
		row "J3 gm durable vs B -q libsqlite3" gm.dur.rate \
		    gearmand.sql.rate ">=50"
		row "J4 gm --journal-sync 10 vs B in memory" gm.relax.rate \
		    gearmand.bg.rate ""
		row "J5 submit only, $n_mem unique: durable/B" \
		    gm.durfill.rate gearmand.mem.fill ""
		row "J6 replay $n_mem jobs after SIGKILL, s" gm.replay.secs "" \
		    "A<=5"
	fi
	if has tls; then
		echo
		echo "TLS (issue 15), background end-to-end on one gm-server:" \
		    "A = its TLS port (-S), B = its plain port:"
		row "T1 TLS vs plain, jobs/s" gm.tls.rate gm.tlsplain.rate "" \
		    cpu
		row "T2 server CPU us/job, TLS vs plain" gm.tls.srvus \
		    gm.tlsplain.srvus ""
	fi
	echo
	if [ ${#notes[@]} -gt 0 ]; then
		echo "notes:"
		printf '    %s\n' "${notes[@]}"
	fi
	if [ ${#errors[@]} -gt 0 ]; then
		echo "errors:"
		printf '    %s\n' "${errors[@]}"
	fi
}
