#!/usr/bin/env bats
# gm-work --stream: each job's payload written to stdout as a record, the
# job done once the record is written; a reader that goes away stops it.

bats_require_minimum_version 1.5.0
load helper
load 40-work-helper

setup() {
	work_setup
	GEN="$GM_BUILD/tests/bench/gmbench"
}

@test "usage: --stream takes no command, no -t" {
	run -2 --separate-stderr "$GM_BIN/gm-work" --stream -f x -- cat
	[[ "$stderr" == "gm-work: --stream takes no command"$'\n'"usage: "* ]]
	run -2 --separate-stderr "$GM_BIN/gm-work" --stream -t 5 -f x
	[[ "$stderr" == "gm-work: -t is not for --stream"$'\n'"usage: "* ]]
}

@test "10,000 background jobs into gm-work --stream | wc -l give exactly 10,000 lines" {
	[ -x "$GEN" ] || skip "no $GEN (run make)"
	"$GEN" -p "$PORT" -t 60 -c 1 -w 0 -n 10000 -f lines submit >/dev/null
	run bash -c "'$GM_BIN/gm-work' -h 127.0.0.1:$PORT -c 10000 --stream \
	    -f lines 2>'$BATS_TEST_TMPDIR/err' | wc -l"
	assert_success
	assert_output 10000
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
	wait_status lines '0 0 0'
}

@test "the seed's awk pipeline creates the files (gearman -w -n gives awk nothing)" {
	d=$BATS_TEST_TMPDIR/files
	mkdir "$d"
	for f in a b c; do submit_bg testwork "$f" >/dev/null; done
	run bash -c "'$GM_BIN/gm-work' -h 127.0.0.1:$PORT -c 3 -f testwork \
	    --stream | awk '{ system(\"touch $d/\" \$0) }'"
	assert_success
	run ls "$d"
	assert_output $'a\nb\nc'
}

@test "nul and length records in stream mode" {
	submit_bg s0 'a b' >/dev/null
	run bash -c "'$GM_BIN/gm-work' -h 127.0.0.1:$PORT -c 1 -0 --stream \
	    -f s0 | od -An -c | tr -s ' '"
	assert_output ' a b \0'
	submit_bg sl 'hello' >/dev/null
	run bash -c "'$GM_BIN/gm-work' -h 127.0.0.1:$PORT -c 1 \
	    --framing length --stream -f sl"
	assert_output $'5\nhello'
}

@test "a stdout whose reader has gone: exit 4 with a clear message, the jobs stay queued" {
	for i in 1 2 3; do submit_bg gone "$i" >/dev/null; done
	run -4 --separate-stderr perl -e 'pipe(my $r, my $w) or die; close $r;
	    open(STDOUT, ">&", $w) or die; exec @ARGV' \
	    "$GM_BIN/gm-work" -h "127.0.0.1:$PORT" --stream -f gone
	assert_equal "$stderr" "gm-work: stdout: Broken pipe (the reader has gone); stopping, 0 jobs not written go back to the server"
	wait_status gone '3 0 0'
}

@test "the reader exits while a record is half written: that job is not done, it goes back to the queue" {
	d=$BATS_TEST_TMPDIR
	head -c 300000 /dev/zero | tr '\0' x >"$d/big"
	timeout 20 gearman -b -f half <"$d/big" >/dev/null
	"$GM_BIN/gm-work" -h "127.0.0.1:$PORT" --stream -f half 2>"$d/err" \
	    3>&- </dev/null | { while [ ! -e "$d/go" ]; do sleep 0.02; done; } &
	wait_status half '1 1 1'
	touch "$d/go"
	# The whole line: warnx writes it in pieces.
	msg="gm-work: stdout: Broken pipe (the reader has gone); stopping, 1 job not written go back to the server"
	wait_until 20 grep -qxF "$msg" "$d/err"
	assert_equal "$(cat "$d/err")" "$msg"
	wait_status half '1 0 0'
}
