#!/usr/bin/env bats
# contrib/cron: rotate-and-ship sends a rotated log to a gm-work worker
# running load-into-db.  The gearman CLI stands in for gm-submit.

bats_require_minimum_version 1.5.0
load helper
load 40-work-helper

CONTRIB=$BATS_TEST_DIRNAME/../contrib/cron

setup() {
	command -v sqlite3 >/dev/null || skip "sqlite3 is not installed"
	work_setup
	d=$BATS_TEST_TMPDIR
	export DB=$d/access.db
}

teardown() {
	# A reader left holding its lock by a failed test: let it go.
	if [ -n "${reader:-}" ]; then
		touch "$d/release"
		wait "$reader"
	fi
	work_teardown
}

rows() {
	sqlite3 "$DB" 'SELECT count(*) FROM access' 2>/dev/null
}

@test "rotate-and-ship: the rotated log is loaded by the single worker and removed" {
	work_start w -f logs -- "$CONTRIB/load-into-db"
	printf 'GET / 200\nGET /a "b, c" 404\n' >"$d/access.log"
	run env REOPEN=true GM_SUBMIT=gearman "$CONTRIB/rotate-and-ship" \
	    "$d/access.log" logs
	assert_success
	[ ! -e "$d/access.log" ]
	run ls "$d"
	refute_output --regexp 'access\.log\.[0-9]'
	wait_until 20 eval '[ "$(rows)" = 2 ]'
	run sqlite3 "$DB" 'SELECT line FROM access ORDER BY rowid'
	assert_output $'GET / 200\nGET /a "b, c" 404'
}

@test "rotate-and-ship: a file no server took is kept and shipped by the next run" {
	work_start w -f logs -- "$CONTRIB/load-into-db"
	echo first >"$d/access.log"
	run --separate-stderr env REOPEN=true GM_SUBMIT=false \
	    "$CONTRIB/rotate-and-ship" "$d/access.log" logs
	assert_failure 1
	[[ "$stderr" == "rotate-and-ship: $d/access.log."*" not shipped, kept for the next run" ]]
	kept=$(ls "$d" | grep -c '^access\.log\.[0-9]')
	[ "$kept" -eq 1 ]
	echo second >"$d/access.log"
	run env REOPEN=true GM_SUBMIT=gearman "$CONTRIB/rotate-and-ship" \
	    "$d/access.log" logs
	assert_success
	wait_until 20 eval '[ "$(rows)" = 2 ]'
	run sqlite3 "$DB" 'SELECT line FROM access ORDER BY line'
	assert_output $'first\nsecond'
}

@test "load-into-db waits for a reader's lock instead of failing the job" {
	sqlite3 "$DB" 'CREATE TABLE access (job TEXT, line TEXT);'
	# A reader holds its shared lock until told to let go.
	sqlite3 "$DB" 'BEGIN;' 'SELECT count(*) FROM access;' \
	    ".shell touch $d/locked; while [ ! -e $d/release ]; do sleep 0.02; done" \
	    'COMMIT;' >/dev/null 3>&- &
	reader=$!
	wait_until 20 test -e "$d/locked"
	work_start w -f logs -- "$CONTRIB/load-into-db"
	pkts logs <<<"line" >"$d/pkts" &
	job=$!
	# The load has written its pages and now needs the reader gone.
	wait_until 20 test -e "$DB-journal"
	touch "$d/release"
	wait "$reader"
	wait "$job"
	run cat "$d/pkts"
	assert_output 'WORK_COMPLETE '
	[ "$(rows)" = 1 ]
}

@test "load-into-db failing fails the job with sqlite3's message" {
	export DB=/nonexistent/dir/access.db
	work_start w -f logs -- "$CONTRIB/load-into-db"
	run pkts logs <<<"line"
	assert_success
	assert_line --index 0 --regexp '^WORK_WARNING .*unable to open database.*gm-work: [^ ]*/load-into-db: exited with status 1\\x0a$'
	assert_line --index 1 "WORK_FAIL"
}

@test "load-into-db: the same job run twice loads its lines once" {
	printf 'GET /1 200\nGET /2 200\nGET /3 500\n' >"$d/log.1"
	for i in 1 2; do
		GM_UNIQUE=web1:access.log.1 GM_HANDLE=H:x:$i \
		    "$CONTRIB/load-into-db" <"$d/log.1"
	done
	GM_UNIQUE=web1:access.log.2 "$CONTRIB/load-into-db" <<<"GET /4 200"
	run sqlite3 "$DB" 'SELECT job, line FROM access ORDER BY rowid'
	assert_output 'web1:access.log.1|GET /1 200
web1:access.log.1|GET /2 200
web1:access.log.1|GET /3 500
web1:access.log.2|GET /4 200'
	# Without a unique id the handle keys the rows.
	GM_HANDLE=H:x:9 "$CONTRIB/load-into-db" <<<"GET /5 200"
	GM_HANDLE=H:x:9 "$CONTRIB/load-into-db" <<<"GET /5 200"
	[ "$(rows)" = 5 ]
}

@test "load-lines: a coprocess keeps one connection and inserts a row per job" {
	command -v python3 >/dev/null || skip "python3 is not installed"
	work_start w -C -f logline -- "$CONTRIB/load-lines"
	run pkts logline < <(printf 'GET / 200')
	assert_output 'WORK_COMPLETE 1'
	run pkts logline < <(printf 'GET /a "b, c" 404')
	assert_output 'WORK_COMPLETE 2'
	run sqlite3 "$DB" 'SELECT line FROM access ORDER BY rowid'
	assert_output $'GET / 200\nGET /a "b, c" 404'
	# One process served both.
	work_stop w
	[ "$WORK_STATUS" -eq 0 ]
}

@test "make install puts every script the pages and READMEs run from /usr/local/libexec/gm there; make uninstall takes them away" {
	[ "$TARGET" = gm ] || skip "no server involved: once is enough"
	local top=$BATS_TEST_DIRNAME/.. dest=$BATS_TEST_TMPDIR/dest p n=0
	run make -s -C "$top" O="$GM_BUILD" DESTDIR="$dest" PREFIX=/usr/local \
	    install
	[ "$status" -eq 0 ]
	for p in $(grep -ho '/usr/local/libexec/gm/[A-Za-z0-9_-]*' \
	    "$top"/man/*.[18] "$top"/README.md "$top"/contrib/README |
	    sort -u); do
		[ -f "$dest$p" ] && [ -x "$dest$p" ] ||
		    { echo "not installed: $p"; return 1; }
		n=$((n + 1))
	done
	# rotate-and-ship, load-lines, load-into-db and fetch-url.
	[ "$n" -eq 4 ]
	run make -s -C "$top" O="$GM_BUILD" DESTDIR="$dest" PREFIX=/usr/local \
	    uninstall
	[ "$status" -eq 0 ]
	run find "$dest" -type f
	assert_output ''
}
