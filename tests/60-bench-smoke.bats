#!/usr/bin/env bats
# The benchmark's load generator (tests/bench/gmbench) with small counts:
# every job it submits is completed exactly once, against either server.
# No timing is checked here; `make bench` measures.

load helper

setup_file() {
	load helper
	server_start main
	export PORT PID_main
}

teardown_file() {
	load helper
	kill_started
}

setup() {
	GEN="$GM_BUILD/tests/bench/gmbench"
	[ -x "$GEN" ] || skip "no $GEN (run make)"
}

# gen ARGS...: run the generator against the test server.
gen() {
	"$GEN" -p "$PORT" -P "$PID_main" -t 60 "$@"
}

@test "background end to end: 4 clients, 8 workers, each job once" {
	run gen -c 4 -w 8 -W 16 -n 2000 -f smoke_bg bg
	assert_success
	assert_output --regexp '^result jobs=2000 '
	assert_output --partial ' finished=2000 dups=0'
}

@test "background with pipelined grabs: each job once" {
	run gen -c 2 -w 3 -g 4 -W 8 -n 1000 -f smoke_pipe bg
	assert_success
	assert_output --partial ' finished=1000 dups=0'
}

@test "submit only, then drain only: the queued jobs, each once" {
	run gen -c 3 -W 32 -n 1500 -f smoke_sd submit
	assert_success
	assert_output --regexp '^result jobs=1500 '
	run admin status
	assert_output --partial "$(printf 'smoke_sd\t1500\t0\t0')"
	run gen -w 4 -n 1500 -f smoke_sd drain
	assert_success
	assert_output --partial ' finished=1500 dups=0'
	# The server sees the workers leave after the generator has exited.
	wait_status smoke_sd '0 0 0'
}

@test "unique ids: a queue of distinct jobs drains exactly" {
	run gen -c 2 -n 800 -U smoke- -f smoke_uq submit
	assert_success
	run gen -w 2 -n 800 -f smoke_uq drain
	assert_success
	assert_output --partial ' finished=800 dups=0'
}

@test "foreground: 16 clients, 8 workers, every result comes back once" {
	run gen -c 16 -w 8 -W 4 -n 1600 -f smoke_fg fg
	assert_success
	assert_output --partial ' finished=1600 dups=0'
}

@test "foreground latency: one job at a time, percentiles reported" {
	run gen -n 50 -f smoke_lat lat
	assert_success
	assert_output --regexp ' p50_us=[0-9.]+ p99_us=[0-9.]+ max_us=[0-9.]+ '
	assert_output --partial ' finished=50 dups=0'
}

@test "idle connections: all accepted and answered" {
	run gen -n 200 conns
	assert_success
	assert_output --regexp '^result conns=200 '
	assert_output --regexp ' echo_p50_us=[0-9.]+ '
}

@test "a job that never comes is an error, not a result" {
	run gen -c 1 -n 10 -f smoke_short submit
	assert_success
	run gen -w 2 -n 11 -t 2 -f smoke_short drain
	assert_failure
	assert_output --partial 'timed out: 0 submitted, 0 created, 10 assigned'
	refute_output --partial 'result '
}

# The core table of `make bench` (tests/bench/run.sh), one quick round:
# its header names the exact columns, and every core row has a number in
# each cell of gm, gearmand and the floor, in the ratios and in the server
# CPU per job.  The script starts its own servers, so it runs once (gm).
@test "make bench, quick: the core table's columns, each a number" {
	[ "$TARGET" = gm ] || skip "the bench starts its own servers"
	run env BENCH_QUICK=1 BENCH_ROUNDS=1 BENCH_ONLY=core \
	    "$BATS_TEST_DIRNAME/bench/run.sh"
	assert_success
	assert_output --regexp '(^|
)row +loop +gm +gm_range +gd +gd_range +floor +floor_range +gm/gd +gm/floor +cpu_gm +cpu_gd +cpu_floor +target +verdict
'
	num='[0-9]+(\.[0-9]+)?'
	cells="$num $num-$num +$num $num-$num +$num $num-$num +$num +$num +$num +$num +$num"
	for r in fg_lat_p50_us_pinned fg_lat_p99_us_pinned drain_8w_jobs_s \
	    bg_e2e_jobs_s; do
		for loop in gen libgearman; do
			assert_output --regexp "(^|
)$r +$loop +$cells"
		done
	done
	for r in drain_8w_8grabs_jobs_s bg_e2e_8grabs_jobs_s submit_jobs_s \
	    fg_16c_8w_jobs_s; do
		assert_output --regexp "(^|
)$r +gen +$cells"
	done
	# Durable: gm with its journal against gearmand in memory and the
	# floor, and its rate over gm's memory-only rate.
	assert_output --regexp "(^|
)bg_durable_jobs_s +libgearman +$cells"
	assert_output --regexp "(^|
)bg_durable/gm_memory +gen +$num $num-$num "
	refute_output --partial 'errors:'
}
