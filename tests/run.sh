#!/usr/bin/env bash
# Run every test: the C unit tests and the bats suites, the suites once per
# target server (gm-server and gearmand 1.1.20), the protocol suites (20-24)
# once more against gm-server with its journal on, then all of it again with
# the AddressSanitizer + UBSan build against gm-server.  Ends with one line,
# "N passed, M failed, K skipped".
#
# tests/run.sh [FILE.bats ...]    only those suites
# GM_TARGETS="gm gearmand"        which servers the suites run against
# GM_SAN=0                        skip the sanitizer pass
# FUZZ_BRIEF=N                    seconds per fuzz harness (default 3; the
#                                 harnesses run with no FILE given, once
#                                 `make fuzz-build` has built them)
set -u
cd "$(dirname "$0")/.."
top=$PWD
passed=0 failed=0 skipped=0
failures=()
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(tests/*.bats)
targets=${GM_TARGETS:-gm gearmand}
export BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-180}

# Read TAP on stdin, echo it, and count it under a label.
tally() {
	local label=$1 line
	while IFS= read -r line; do
		printf '%s\n' "$line"
		case $line in
		"not ok "*) failed=$((failed + 1))
			failures+=("$label: ${line#not ok }") ;;
		"ok "*"# skip"*|"ok "*"# SKIP"*) skipped=$((skipped + 1)) ;;
		"ok "*) passed=$((passed + 1)) ;;
		esac
	done
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

suites() {
	local build=$1 target=$2
	[ ${#suites[@]} -gt 0 ] && [ -e "${suites[0]}" ] || return 0
	echo "# bats: $build against $target"
	tally "bats $target ($build)" < <(GM_BIN=$top/$build/bin TARGET=$target \
	    GM_BUILD=$top/$build bats --tap "${suites[@]}" 2>&1)
}

# The libFuzzer harnesses, briefly: their regression inputs, then a few
# seconds of fuzzing each.
fuzzers() {
	[ -d build-fuzz/tests/fuzz ] || return 0
	echo "# fuzz: each harness ${FUZZ_BRIEF:-3} s"
	tally "fuzz" < <(tests/fuzz/run.sh --tap "${FUZZ_BRIEF:-3}" 2>&1)
}

[ $# -gt 0 ] || units build
[ $# -gt 0 ] || fuzzers
for target in $targets; do
	suites build "$target"
done

# The protocol suites once more against gm-server with its journal on (its
# default in production): both must give gearmand's answers.
journal_suites=()
for f in "${suites[@]}"; do
	case $(basename "$f") in 2[0-4]-*.bats) journal_suites+=("$f") ;; esac
done
if [[ " $targets " == *" gm "* ]] && [ ${#journal_suites[@]} -gt 0 ]; then
	echo "# bats: build against gm with the journal on"
	tally "bats gm+journal (build)" < <(GM_BIN=$top/build/bin TARGET=gm \
	    GM_BUILD=$top/build GM_JOURNAL=fresh bats --tap \
	    "${journal_suites[@]}" 2>&1)
fi

if [ "${GM_SAN:-1}" != 0 ] && [ -d build-san/bin ]; then
	sandir=$(mktemp -d /tmp/gm-san.XXXXXX)
	export ASAN_OPTIONS="log_path=$sandir/asan:detect_leaks=1:abort_on_error=0"
	export UBSAN_OPTIONS="log_path=$sandir/ubsan:print_stacktrace=1"
	[ $# -gt 0 ] || units build-san
	suites build-san gm
	unset ASAN_OPTIONS UBSAN_OPTIONS
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
