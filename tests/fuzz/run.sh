#!/usr/bin/env bash
# The libFuzzer harnesses of tests/fuzz/ (built by `make fuzz-build` into
# build-fuzz/tests/fuzz/).
#
# tests/fuzz/run.sh SECONDS [NAME...]
#     a campaign: each harness (default all) in turn for its share of
#     SECONDS, niced, from its seed corpus plus what earlier campaigns
#     found (build-fuzz/corpus/NAME); a crash is written to
#     build-fuzz/crashes/NAME/ and makes the exit status 1.  Copy a crash
#     into tests/fuzz/corpus/NAME/ to keep it as a regression input.
# tests/fuzz/run.sh --tap SECONDS
#     for tests/run.sh: each harness replays its seed and regression inputs
#     and then fuzzes SECONDS; one TAP line per harness.
set -u
cd "$(dirname "$0")/../.."
top=$PWD
bin=$top/build-fuzz/tests/fuzz
dict=$top/tests/fuzz/gm.dict
tap=0
if [ "${1:-}" = --tap ]; then
	tap=1
	shift
fi
seconds=${1:?usage: tests/fuzz/run.sh [--tap] SECONDS [NAME...]}
shift
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	for f in "$bin"/fuzz_*; do
		[ -x "$f" ] && names+=("${f##*/fuzz_}")
	done
fi
[ ${#names[@]} -gt 0 ] || { echo "no harness in $bin (make fuzz-build)" >&2; exit 2; }

if [ $tap = 1 ]; then
	echo "1..${#names[@]}"
	i=0 status=0
	for n in "${names[@]}"; do
		i=$((i + 1))
		work=$(mktemp -d /tmp/gm-fuzz.XXXXXX)
		if "$bin/fuzz_$n" -dict="$dict" -max_total_time="$seconds" \
		    -timeout=10 -artifact_prefix="$work/" "$work" \
		    "$top/tests/fuzz/corpus/$n" >"$work/log" 2>&1; then
			echo "ok $i - fuzz $n: $(grep -o 'Done [0-9]* runs' \
			    "$work/log")"
		else
			echo "not ok $i - fuzz $n"
			grep -E 'ERROR|SUMMARY|^    #[0-9]' "$work/log" |
			    head -20 | sed 's/^/# /'
			for f in "$work"/crash-* "$work"/leak-* \
			    "$work"/timeout-*; do
				[ -e "$f" ] && echo "# input: $(base64 -w0 "$f")"
			done
			status=1
		fi
		rm -rf "$work"
	done
	exit $status
fi

per=$((seconds / ${#names[@]}))
[ "$per" -gt 0 ] || per=1
status=0
for n in "${names[@]}"; do
	corpus=$top/build-fuzz/corpus/$n
	crashes=$top/build-fuzz/crashes/$n
	mkdir -p "$corpus" "$crashes"
	log=$top/build-fuzz/fuzz-$n.log
	echo "fuzz $n: ${per} s" >&2
	nice "$bin/fuzz_$n" -dict="$dict" -max_total_time="$per" \
	    -timeout=10 -print_final_stats=1 -artifact_prefix="$crashes/" \
	    "$corpus" "$top/tests/fuzz/corpus/$n" >"$log" 2>&1 || status=1
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
	echo "fuzz $n: ${runs:-?} runs, ${rate:-?}/s, ${cov:-cov: ?}," \
	    "corpus $(ls "$corpus" | wc -l) inputs," \
	    "crashes $(ls "$crashes" | wc -l)"
done
exit $status
