#!/usr/bin/env bats
# The journal through the real gm-server: restart and replay of every kind
# of background job, torn tails, damage and repair, the directory lock, a
# full disk, and the admin "journal" command.  gm-server only: gearmand
# has no journal (its persistent queues are modules, see protocol.md §9).

load helper

GMJOB="$BATS_TEST_DIRNAME/50-data/gmjob.pl"

setup_file() {
	:
}

teardown() {
	# A tmpfs of the full-disk test goes, even when the test failed.
	if [ -n "${MNT:-}" ]; then
		server_stop g KILL || true
		umount -l "$MNT" || true
	fi
}

teardown_file() {
	kill_started
}

# gmjob ARGS...: the raw client/worker of these suites.
gmjob() {
	perl "$GMJOB" "$@" 3>&-
}

# status_of PORT FUNC: the function's line of the admin status, tab-split.
status_of() {
	admin "$1" status | awk -F '\t' -v f="$2" '$1 == f'
}

# jstat PORT KEY: one value of the admin journal command.
jstat() {
	admin "$1" journal | awk -F '\t' -v k="$2" '$1 == k { print $2 }'
}

# newest_seg DIR: the newest segment file of a journal.
newest_seg() {
	ls "$1"/seg-*.jnl | sort | tail -n 1
}

# rec_offset FILE K: offset of record K (from 0) of a segment.
rec_offset() {
	perl -e 'open(my $f, "<", $ARGV[0]) or die; binmode $f;
	    my $off = 32;
	    for (1 .. $ARGV[1]) {
	        seek($f, $off, 0); read($f, my $h, 4) == 4 or die "short\n";
	        $off += 8 + unpack("V", $h);
	    }
	    print "$off\n";' "$1" "$2"
}

# flip_byte FILE OFFSET: invert one byte in place.
flip_byte() {
	perl -e 'open(my $f, "+<", $ARGV[0]) or die; binmode $f;
	    seek($f, $ARGV[1], 0); read($f, my $c, 1);
	    seek($f, $ARGV[1], 0); print $f chr(ord($c) ^ 0xff);' "$1" "$2"
}

# refused DIR MESSAGE: gm-server on journal DIR must refuse to start (exit
# 1) with MESSAGE and the hint to --journal-repair.
refused() {
	run timeout 20 "$GM_BIN/gm-server" -L 127.0.0.1 -p 0 -l stderr \
	    --journal "$1"
	assert_failure 1
	assert_output --partial "$2"
	assert_output --partial "--journal-repair"
}

hex() {
	printf '%s' "$1" | od -An -tx1 | tr -d ' \n'
}

@test "every kind of background job survives a crash, in order, intact" {
	gm_only
	JOURNAL_a=$BATS_TEST_TMPDIR/j
	server_start a
	future=$(($(date +%s) + 3600))
	run gmjob jobs "$PORT_a" <<-EOF
	bg jfn n1 normal-1
	high jfn h1 high-1
	low jfn l1 low-1
	epoch:1000 jfn e1 epoch-past
	bg jfn - empty-unique-1
	bg jfn - empty-unique-2
	high jfn h2 high-2
	bg jfn bin \x00\x01\xff\x00end
	low jfn l2 low-2
	epoch:$future jfn e2 epoch-future
	bg jfn n2 -
	bg jretry r1 tried-before
	bg jretry c1 control
	EOF
	assert_success
	assert_equal "${#lines[@]}" 13
	# One attempt of r1 before the crash: its worker vanishes.  The
	# journal writes the attempt after the job is requeued, in its own
	# thread: the crash comes once the journal has grown by it.
	bytes=$(jstat "$PORT_a" bytes)
	run gmjob drop "$PORT_a" jretry
	assert_output r1
	wait_until 10 eval '[ "$(status_of $PORT_a jretry | cut -f3)" = 0 ]'
	wait_until 20 eval '[ "$(jstat "$PORT_a" bytes)" -gt "$bytes" ]'
	server_stop a KILL

	server_start a -j 2
	out=$BATS_TEST_TMPDIR/delivered
	gmjob work "$PORT_a" jfn "$out" 1 drain
	run cat "$out"
	assert_output - <<-EOF
	1 jfn h1 $(hex high-1)
	1 jfn h2 $(hex high-2)
	1 jfn n1 $(hex normal-1)
	1 jfn e1 $(hex epoch-past)
	1 jfn  $(hex empty-unique-1)
	1 jfn  $(hex empty-unique-2)
	1 jfn bin 0001ff00656e64
	1 jfn n2 
	1 jfn l1 $(hex low-1)
	1 jfn l2 $(hex low-2)
	EOF
	# The future epoch job waits for its time, still counted.
	run status_of "$PORT_a" jfn
	assert_output "$(printf 'jfn\t1\t0\t0')"
	# r1 had one attempt before the crash: with -j 2 its second is its
	# last.  c1 had none: it is requeued after one failure.
	run gmjob drop "$PORT_a" jretry
	assert_output r1
	run gmjob drop "$PORT_a" jretry
	assert_output c1
	out2=$BATS_TEST_TMPDIR/retry
	gmjob work "$PORT_a" jretry "$out2" 2 drain
	run cat "$out2"
	assert_output "2 jretry c1 $(hex control)"
	# r1 is not dropped: it waits in the failed list.
	run grep -c "(function jretry) failed 2 times, kept in the failed list: retries exhausted after 2 attempts (last: worker lost)" "$LOG_a"
	assert_output 1
	run admin "$PORT_a" 'failed list jretry'
	assert_equal "$(cut -f3,5 <<<"${lines[0]}")" "r1	2"
	assert_equal "${#lines[@]}" 2
}

@test "completed jobs do not come back after a restart" {
	gm_only
	JOURNAL_b=$BATS_TEST_TMPDIR/j
	server_start b
	printf 'bg jfn u%d data%d\n' 1 1 2 2 3 3 4 4 | gmjob jobs "$PORT_b" >/dev/null
	out=$BATS_TEST_TMPDIR/out
	gmjob work "$PORT_b" jfn "$out" 1 drain
	run wc -l <"$out"
	assert_output 4
	# Two more, then a crash before anyone works on them.
	printf 'bg jfn v%d data%d\n' 1 1 2 2 | gmjob jobs "$PORT_b" >/dev/null
	server_stop b KILL
	server_start b
	gmjob work "$PORT_b" jfn "$out" 2 drain
	run grep -c '^2 ' "$out"
	assert_output 2
	run grep '^2 ' "$out"
	assert_output - <<-EOF
	2 jfn v1 $(hex data1)
	2 jfn v2 $(hex data2)
	EOF
}

@test "admin journal shows the journal's figures" {
	gm_only
	JOURNAL_c=$BATS_TEST_TMPDIR/j
	server_start c
	printf 'bg jfn u%d data%d\n' 1 1 2 2 3 3 | gmjob jobs "$PORT_c" >/dev/null
	run admin "$PORT_c" journal
	assert_success
	run cut -f1 <<<"$output"
	assert_output - <<-EOF
	enabled
	dir
	sync
	bytes
	live
	dead
	flushes
	last_flush_us
	peak_flush_us
	compactions
	write_errors
	.
	EOF
	assert_equal "$(jstat "$PORT_c" enabled)" 1
	assert_equal "$(jstat "$PORT_c" dir)" "$JOURNAL_c"
	assert_equal "$(jstat "$PORT_c" sync)" always
	assert_equal "$(jstat "$PORT_c" live)" 3
	assert_equal "$(jstat "$PORT_c" dead)" 0
	# bytes counts the records (the file may have zeros written ahead).
	assert_equal "$(jstat "$PORT_c" bytes)" "$(rec_offset "$(newest_seg "$JOURNAL_c")" 3)"
	gmjob work "$PORT_c" jfn "$BATS_TEST_TMPDIR/out" 1 drain
	wait_until 10 eval '[ "$(jstat $PORT_c live)" = 0 ]'
	assert_equal "$(jstat "$PORT_c" dead)" 6
}

@test "a record torn at the tail is dropped and logged, the rest replays" {
	gm_only
	JOURNAL_d=$BATS_TEST_TMPDIR/j
	server_start d
	printf 'bg jfn u%d data%d\n' 1 1 2 2 3 3 | gmjob jobs "$PORT_d" >/dev/null
	server_stop d KILL
	seg=$(newest_seg "$JOURNAL_d")
	end=$(rec_offset "$seg" 3)
	# Half of a record: what a crash during a write leaves.
	off=$(rec_offset "$seg" 2)
	tail -c "+$((off + 1))" "$seg" | head -c 25 >"$BATS_TEST_TMPDIR/half"
	# Written over the zeros the journal keeps ahead of its appends.
	dd if="$BATS_TEST_TMPDIR/half" of="$seg" bs=1 seek="$end" \
	    conv=notrunc status=none
	server_start d
	run grep -c "dropping torn record at offset $end" "$LOG_d"
	assert_output 1
	assert_equal "$(stat -c %s "$seg")" "$end"
	gmjob work "$PORT_d" jfn "$BATS_TEST_TMPDIR/out" 1 drain
	run cut -d' ' -f3 "$BATS_TEST_TMPDIR/out"
	assert_output - <<-EOF
	u1
	u2
	u3
	EOF
}

@test "damage in the middle stops the start; --journal-repair salvages" {
	gm_only
	JOURNAL_e=$BATS_TEST_TMPDIR/j
	server_start e
	printf 'bg jfn u%d data%d\n' 1 1 2 2 3 3 4 4 | gmjob jobs "$PORT_e" >/dev/null
	server_stop e KILL
	seg=$(newest_seg "$JOURNAL_e")
	off=$(rec_offset "$seg" 1)
	flip_byte "$seg" "$((off + 30))"
	refused "$JOURNAL_e" "journal $seg: damaged record at offset $off (checksum mismatch)"
	server_start e --journal-repair
	run grep -c "damaged record at offset $off" "$LOG_e"
	assert_output 1
	run ls "$JOURNAL_e"
	assert_output --partial "$(basename "$seg").damaged"
	gmjob work "$PORT_e" jfn "$BATS_TEST_TMPDIR/out" 1 drain
	run cut -d' ' -f3 "$BATS_TEST_TMPDIR/out"
	assert_output - <<-EOF
	u1
	u3
	u4
	EOF
	# The repaired journal starts without the option, the damaged file
	# is still there.
	server_stop e
	server_start e
	assert_equal "$(ls "$JOURNAL_e" | grep -c damaged)" 1
}

@test "a whole last record with a wrong checksum stops the start; repair salvages" {
	gm_only
	JOURNAL_lastrec=$BATS_TEST_TMPDIR/j
	server_start lastrec
	printf 'bg jfn u%d data%d\n' 1 1 2 2 3 3 | gmjob jobs "$PORT_lastrec" >/dev/null
	server_stop lastrec KILL
	seg=$(newest_seg "$JOURNAL_lastrec")
	off=$(rec_offset "$seg" 2)
	# Acknowledged and written whole, then damaged: not a torn write,
	# although only zeros (written ahead of appends) follow it.
	flip_byte "$seg" "$((off + 30))"
	refused "$JOURNAL_lastrec" "journal $seg: damaged record at offset $off (checksum mismatch)"
	refute_output --partial "dropping torn record"
	server_start lastrec --journal-repair
	run grep -c "damaged record at offset $off" "$LOG_lastrec"
	assert_output 1
	gmjob work "$PORT_lastrec" jfn "$BATS_TEST_TMPDIR/out" 1 drain
	run cut -d' ' -f3 "$BATS_TEST_TMPDIR/out"
	assert_output - <<-EOF
	u1
	u2
	EOF
}

@test "a segment cut to 0 bytes stops the start; repair sets it aside" {
	gm_only
	JOURNAL_emptyseg=$BATS_TEST_TMPDIR/j
	server_start emptyseg
	printf 'bg jfn u%d data%d\n' 1 1 2 2 | gmjob jobs "$PORT_emptyseg" >/dev/null
	server_stop emptyseg
	seg=$(newest_seg "$JOURNAL_emptyseg")
	: >"$seg"
	refused "$JOURNAL_emptyseg" "journal $seg: damaged header at offset 0 (file too short)"
	assert_equal "$(stat -c %s "$seg")" 0
	server_start emptyseg --journal-repair
	run ls "$JOURNAL_emptyseg"
	assert_output --partial "$(basename "$seg").damaged"
	assert_equal "$(jstat "$PORT_emptyseg" live)" 0
}

@test "a second server on the same journal directory refuses to start" {
	gm_only
	JOURNAL_f=$BATS_TEST_TMPDIR/j
	server_start f
	run timeout 20 "$GM_BIN/gm-server" -L 127.0.0.1 -p 0 -l stderr \
	    --journal "$JOURNAL_f"
	assert_failure 1
	assert_output --partial "journal directory $JOURNAL_f is in use by another gm-server (pid $PID_f)"
	pid_alive "$PID_f"
}

@test "a full disk answers ERROR, the server stays up and recovers" {
	gm_only
	[ "$(id -u)" = 0 ] || skip "needs root to mount a tmpfs"
	mnt=$BATS_TEST_TMPDIR/small
	mkdir -p "$mnt"
	mount -t tmpfs -o size=1m tmpfs "$mnt" 2>/dev/null ||
	    skip "cannot mount a tmpfs here"
	MNT=$mnt
	JOURNAL_g=$mnt/j
	server_start g
	# Fill the disk, leaving less room than one job needs.
	head -c 1000000 /dev/zero >"$mnt/filler" 2>/dev/null || true
	big=$(head -c 60000 /dev/zero | tr '\0' x)
	run gmjob jobs "$PORT_g" <<<"bg jfn big1 $big"
	assert_failure
	assert_output --partial "reply 19: QUEUE_ERROR"
	assert_output --partial "No space left on device"
	# The server still serves, and counts the error.
	run admin "$PORT_g" journal
	assert_output --partial "$(printf 'write_errors\t')"
	[ "$(jstat "$PORT_g" write_errors)" -ge 1 ]
	assert_equal "$(jstat "$PORT_g" live)" 0
	# Space returns: the next submission succeeds by itself.
	rm -f "$mnt/filler"
	run gmjob jobs "$PORT_g" <<<"bg jfn big2 $big"
	assert_success
	server_stop g KILL
	server_start g
	gmjob work "$PORT_g" jfn "$BATS_TEST_TMPDIR/out" 1 drain
	run cut -d' ' -f3 "$BATS_TEST_TMPDIR/out"
	assert_output big2
}

@test "compaction keeps exactly the pending jobs across a crash" {
	gm_only
	JOURNAL_h=$BATS_TEST_TMPDIR/j
	# Compact as soon as dead records dominate, whatever the size.
	GM_JOURNAL_COMPACT_BYTES=1 server_start h
	for i in $(seq 1 50); do
		echo "bg jfn old$i data$i"
	done | gmjob jobs "$PORT_h" >/dev/null
	gmjob work "$PORT_h" jfn "$BATS_TEST_TMPDIR/out" 1 drain
	wait_until 20 eval '[ "$(jstat $PORT_h compactions)" -ge 1 ]'
	printf 'bg jfn new%d data%d\n' 1 1 2 2 3 3 | gmjob jobs "$PORT_h" >/dev/null
	wait_until 20 eval '[ "$(jstat $PORT_h live)" = 3 ]'
	run grep -c "compacted" "$LOG_h"
	[ "$output" -ge 1 ]
	server_stop h KILL
	[ "$(ls "$JOURNAL_h" | grep -c '^seg-')" -le 2 ]
	server_start h
	gmjob work "$PORT_h" jfn "$BATS_TEST_TMPDIR/out" 2 drain
	run grep '^2 ' "$BATS_TEST_TMPDIR/out"
	assert_output - <<-EOF2
	2 jfn new1 $(hex data1)
	2 jfn new2 $(hex data2)
	2 jfn new3 $(hex data3)
	EOF2
}

@test "relaxed sync modes keep acknowledged jobs across a server crash" {
	gm_only
	local mode
	for mode in 10 never; do
		JOURNAL_i=$BATS_TEST_TMPDIR/j-$mode
		unset PORT_i
		server_start i --journal-sync "$mode"
		assert_equal "$(jstat "$PORT_i" sync)" \
		    "$([ "$mode" = never ] && echo never || echo interval)"
		printf 'bg jfn %s-%d data%d\n' "$mode" 1 1 "$mode" 2 2 |
		    gmjob jobs "$PORT_i" >/dev/null
		server_stop i KILL
		unset PORT_i
		server_start i
		gmjob work "$PORT_i" jfn "$BATS_TEST_TMPDIR/out-$mode" 1 drain
		run cut -d' ' -f3 "$BATS_TEST_TMPDIR/out-$mode"
		assert_output - <<-EOF2
		$mode-1
		$mode-2
		EOF2
		server_stop i
	done
}

@test "a background submission coalesced onto a foreground job survives a crash" {
	gm_only
	JOURNAL_c=$BATS_TEST_TMPDIR/j
	server_start c
	run "$GM_BUILD/tests/tools/gmraw" -p "$PORT_c" <<-'EOF'
	@1 REQ SUBMIT_JOB cfn U1 fg-data
	@1 WAIT 1
	@2 REQ SUBMIT_JOB_BG cfn U1 bg-data
	@2 WAIT 1
	EOF
	assert_success
	assert_output "JOB_CREATED H:HOST:1
@2 JOB_CREATED H:HOST:1"
	# The foreground client has gone; the job stays for the background one.
	server_stop c KILL
	server_start c
	run gmjob work "$PORT_c" cfn "$BATS_TEST_TMPDIR/out" 1 drain
	assert_success
	run cat "$BATS_TEST_TMPDIR/out"
	assert_output "1 cfn U1 $(hex fg-data)"
}

@test "replayed jobs keep their handles and server id; new jobs get higher ones" {
	gm_only
	JOURNAL_h=$BATS_TEST_TMPDIR/j
	server_start h
	local p1
	p1=$(host_prefix "$PORT_h")
	run "$GM_BUILD/tests/tools/gmraw" -p "$PORT_h" -P "$p1" <<-'EOF'
	REQ SUBMIT_JOB hfn "" fg-only
	WAIT 1
	@2 REQ SUBMIT_JOB_BG hfn a data-a
	@2 REQ SUBMIT_JOB_LOW_BG hfn b data-b
	@2 WAIT 2
	EOF
	assert_success
	assert_output "JOB_CREATED H:HOST:1
@2 JOB_CREATED H:HOST:2
@2 JOB_CREATED H:HOST:3"
	server_stop h KILL
	server_start h
	# The server id in the handles is kept in the journal directory.
	assert_equal "$(host_prefix "$PORT_h")" "$p1"
	assert_equal "H:$(uname -n | cut -c1-30)-$(cat "$JOURNAL_h/server-id")" \
	    "$p1"
	run "$GM_BUILD/tests/tools/gmraw" -p "$PORT_h" -P "$p1" <<-'EOF'
	ADMINSORT show jobs
	REQ GET_STATUS H:HOST:3
	WAIT 1
	REQ SUBMIT_JOB_BG hfn c data-c
	WAIT 1
	EOF
	assert_success
	assert_output "| H:HOST:2\t0\t0\t1
| H:HOST:3\t0\t0\t1
| .
STATUS_RES H:HOST:3 1 0 0 0
JOB_CREATED H:HOST:4"
}
