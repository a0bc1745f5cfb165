#!/usr/bin/env bash
# Run chosen bats suites N times in a row through tests/run.sh and report
# each test that ever failed, with how often: a test that fails by chance
# shows up here before it reaches everyone's `make test`.  Exits non-zero
# if any test failed even once.  The full output of every run that had a
# failure is kept for reading.
#
# tests/repeat.sh N [FILE.bats ...]    (default: every suite)
# GM_TARGETS, GM_SAN, GM_JOBS          as for tests/run.sh (GM_SAN=0 unless set)
# `make repeat SUITES="tests/43-work-contrib.bats" N=20` runs it.
set -u
cd "$(dirname "$0")/.."
n=${1:?usage: tests/repeat.sh N [FILE.bats ...]}
shift
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(tests/*.bats)
export GM_SAN=${GM_SAN:-0}
logs=$(mktemp -d /tmp/gm-repeat.XXXXXX)
declare -A count=()
bad=0

for ((i = 1; i <= n; i++)); do
	start=$SECONDS
	tests/run.sh "${suites[@]}" >"$logs/run" 2>&1
	rc=$?
	last=$(tail -n 1 "$logs/run")
	echo "# run $i/$n: $last ($((SECONDS - start)) s)"
	# The lines run.sh lists after "# failures:", one per failed test.
	found=0
	while IFS= read -r line; do
		count[$line]=$((${count[$line]:-0} + 1))
		found=1
	done < <(sed -n '/^# failures:$/,$ s/^#   //p' "$logs/run")
	if [ "$rc" -ne 0 ] && [ "$found" = 0 ]; then
		count["run.sh exited $rc: $last"]=$((${count["run.sh exited $rc: $last"]:-0} + 1))
		found=1
	fi
	if [ "$found" = 1 ]; then
		bad=1
		mv "$logs/run" "$logs/run-$i.log"
	fi
done
rm -f "$logs/run"

if [ "$bad" = 0 ]; then
	rmdir "$logs"
	echo "no test failed in $n runs of ${suites[*]}"
	exit 0
fi
echo "# tests that failed (runs failed/runs), output of those runs in $logs:"
for key in "${!count[@]}"; do
	printf '%s/%s %s\n' "${count[$key]}" "$n" "$key"
done | sort -t/ -k1,1nr -k2
exit 1
