#!/usr/bin/env bash
# Run every test: the C unit tests and the bats suites, the suites once per
# target server (gm-server and gearmand 1.1.20), the protocol suites (20-24)
# once more against gm-server with its journal on, then all of it again with
# the AddressSanitizer + UBSan build against gm-server.  Each suite file is
# one bats run; a failure is listed with its file and pass.  Ends with one
# line, "N passed, M failed, K skipped".
#
# tests/run.sh [FILE.bats ...]    only those suites
# GM_TARGETS="gm gearmand"        which servers the suites run against
# GM_SAN=0                        skip the sanitizer pass
# FUZZ_BRIEF=N                    seconds per fuzz harness (default 3; the
#                                 harnesses run with no FILE given, once
#                                 `make fuzz-build` has built them)
# GM_JOBS=N                       run up to N suite files at once (default 2)
set -u
cd "$(dirname "$0")/.."
top=$PWD
passed=0 failed=0 skipped=0
failures=()
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(tests/*.bats)
targets=${GM_TARGETS:-gm gearmand}
maxjobs=${GM_JOBS:-2}
export BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-180}
out=$(mktemp -d /tmp/gm-run.XXXXXX)
trap 'rm -rf "$out"' EXIT

# Read TAP on stdin, echo it, and count it under a label.  With "plan", a
# run that reports another number of results than its plan (bats died, or
# the file did not parse) counts as one more failure.
tally() {
	local label=$1 check=${2:-} line plan="" seen=0
	while IFS= read -r line; do
		printf '%s\n' "$line"
		case $line in
		"not ok "*) failed=$((failed + 1)) seen=$((seen + 1))
			line=${line#not ok }
			failures+=("$label: ${line#* }") ;;
		"ok "*"# skip"*|"ok "*"# SKIP"*)
			skipped=$((skipped + 1)) seen=$((seen + 1)) ;;
		"ok "*) passed=$((passed + 1)) seen=$((seen + 1)) ;;
		1..*) [ -n "$plan" ] || plan=${line#1..} ;;
		esac
	done
	if [ -n "$check" ] && [ "${plan:-x}" != "$seen" ]; then
		failed=$((failed + 1))
		failures+=("$label: $seen results for a plan of ${plan:-none}")
	fi
}

units() {
	local build=$1 t
	for t in "$build"/tests/unit/test_*; do
		[ -x "$t" ] || continue
		echo "# unit: $t"
		tally "unit $(basename "$t") ($build)" < <("$t" 2>&1 ||
		    echo "not ok - $(basename "$t") exited with status $?")
	done
}

# The bats runs, one per (build, target, journal, file), in list order.
runs=()
add_runs() {
	local build=$1 target=$2 journal=$3 f
	shift 3
	for f in "$@"; do
		[ -e "$f" ] && runs+=("$build $target $journal $f")
	done
}

# The libFuzzer harnesses, briefly: their regression inputs, then a few
# seconds of fuzzing each.
fuzzers() {
	[ -d build-fuzz/tests/fuzz ] || return 0
	echo "# fuzz: each harness ${FUZZ_BRIEF:-3} s"
	tally "fuzz" < <(tests/fuzz/run.sh --tap "${FUZZ_BRIEF:-3}" 2>&1)
}

# Start bats run number i in the background, its TAP into $out/i.
start_run() {
	local build target journal f
	read -r build target journal f <<<"${runs[$1]}"
	GM_BIN=$top/$build/bin TARGET=$target GM_BUILD=$top/$build \
	    GM_JOURNAL=$journal bats --tap "$f" >"$out/$1" 2>&1 </dev/null &
	pids[$1]=$!
}

# Run the listed bats runs, up to $maxjobs at once, and tally each in list
# order as it ends.
bats_runs() {
	local i next=0 build target journal f label
	pids=()
	for ((i = 0; i < ${#runs[@]}; i++)); do
		while [ "$next" -lt "${#runs[@]}" ] &&
		    [ "$next" -lt $((i + maxjobs)) ]; do
			start_run "$next"
			next=$((next + 1))
		done
		wait "${pids[$i]}"
		read -r build target journal f <<<"${runs[$i]}"
		label="$f ($target"
		[ "$journal" = none ] || label="$label+journal"
		[ "$build" = build ] || label="$label, $build"
		label="$label)"
		echo "# bats: $label"
		tally "$label" plan <"$out/$i"
	done
}

journal_suites=()
for f in "${suites[@]}"; do
	case $(basename "$f") in 2[0-4]-*.bats) journal_suites+=("$f") ;; esac
done

[ $# -gt 0 ] || fuzzers

# Sanitizer reports go to files; any file fails the run.
san=0
if [ "${GM_SAN:-1}" != 0 ] && [ -d build-san/bin ]; then
	san=1
	sandir=$(mktemp -d /tmp/gm-san.XXXXXX)
	export ASAN_OPTIONS="log_path=$sandir/asan:detect_leaks=1:abort_on_error=0"
	export UBSAN_OPTIONS="log_path=$sandir/ubsan:print_stacktrace=1"
fi

if [ $# -eq 0 ]; then
	units build
	[ "$san" = 0 ] || units build-san
fi
for target in $targets; do
	add_runs build "$target" none "${suites[@]}"
done
# The protocol suites once more against gm-server with its journal on (its
# default in production): both must give gearmand's answers.
if [[ " $targets " == *" gm "* ]] && [ ${#journal_suites[@]} -gt 0 ]; then
	add_runs build gm fresh "${journal_suites[@]}"
fi
[ "$san" = 0 ] || add_runs build-san gm none "${suites[@]}"
bats_runs

if [ "$san" = 1 ]; then
	for f in "$sandir"/*; do
		[ -e "$f" ] || continue
		echo "# sanitizer report $f:"
		sed 's/^/#   /' "$f" | head -60
		failed=$((failed + 1))
		failures+=("sanitizer: $(basename "$f")")
	done
	rm -rf "$sandir"
fi

if [ ${#failures[@]} -gt 0 ]; then
	echo "# failures:"
	printf '#   %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
