#!/usr/bin/env bats
# The two stories of the design, end to end, when a job fails: log shipping
# into SQLite whose writer fails at first, and websync (URLs downloaded by
# gm-work running curl, one of them missing).  On gm-server the failed job
# waits in the failed list and a retry finishes it; gearmand drops it.

bats_require_minimum_version 1.5.0
load helper
load 40-work-helper

CONTRIB=$BATS_TEST_DIRNAME/../contrib

setup() {
	command -v sqlite3 >/dev/null || skip "sqlite3 is not installed"
	command -v curl >/dev/null || skip "curl is not installed"
	d=$BATS_TEST_TMPDIR
	GM_JOURNAL=fresh work_setup
}

teardown() {
	[ -z "${HTTP_PID:-}" ] || { kill "$HTTP_PID"; wait "$HTTP_PID"; } 2>/dev/null
	work_teardown
}

failed_rows() {
	admin failed | grep -vc '^\.$' || true
}

@test "log shipping: the writer fails, the job waits in the failed list, a retry loads every line once" {
	export DB=$d/db/access.db	# its folder is missing at first
	work_start w -f logs -- "$CONTRIB/cron/load-into-db"
	printf 'GET /a 200\nGET /b 404\nGET /c 200\n' >"$d/access.log"
	run env REOPEN=true "$CONTRIB/cron/rotate-and-ship" "$d/access.log" logs
	assert_success
	run ls "$d"
	refute_output --regexp 'access\.log\.[0-9]'
	if is_gearmand; then
		# The failed background job is gone, and so is the log data.
		wait_until 20 grep -q 'unable to open database' "$(work_err w)"
		wait_status logs '0 0 1'
		mkdir "$d/db"
		[ ! -e "$DB" ]
		return 0
	fi
	wait_until 20 eval '[ "$(failed_rows)" = 1 ]'
	run gm-admin --json failed logs
	[[ "$(jq -r '.[0].unique' <<<"$output")" == "$(uname -n):access.log."* ]]
	assert_equal "$(jq -r '.[0].tries' <<<"$output")" 1
	[[ "$(jq -r '.[0].error' <<<"$output")" == *"unable to open database"*"load-into-db: exited with status 1"* ]]
	mkdir "$d/db"
	run gm-admin retry all
	assert_output 'retried 1'
	wait_until 20 eval '[ "$(sqlite3 "$DB" "SELECT count(*) FROM access" 2>/dev/null)" = 3 ]'
	run sqlite3 "$DB" 'SELECT line FROM access ORDER BY rowid'
	assert_output $'GET /a 200\nGET /b 404\nGET /c 200'
	[ "$(failed_rows)" = 0 ]
	wait_status logs '0 0 1'
}

@test "websync: curl downloads with progress, the missing URL waits in the failed list, appears, a retry fetches it" {
	mkdir "$d/www" "$d/dest"
	head -c 300000 /dev/urandom >"$d/www/big.bin"
	echo small >"$d/www/small.txt"
	port_hold
	hp=$HELD_PORT
	python3 -m http.server "$hp" --bind 127.0.0.1 --directory "$d/www" \
	    >"$d/http.log" 2>&1 3>&- &
	HTTP_PID=$!
	wait_until 20 port_open "$hp"
	export DEST=$d/dest
	work_start w -j 2 -f fetch -- "$CONTRIB/websync/fetch-url"
	printf 'http://127.0.0.1:%s/%s\n' "$hp" big.bin "$hp" missing.txt \
	    "$hp" small.txt >"$d/urls"
	run gm-submit -b -n -f fetch <"$d/urls"
	assert_success
	assert_equal "${#lines[@]}" 3
	missing=${lines[1]}
	wait_until 30 test -e "$d/dest/big.bin"
	cmp "$d/www/big.bin" "$d/dest/big.bin"
	wait_until 20 test -e "$d/dest/small.txt"
	# The progress curl makes reaches a client as it goes.
	rm "$d/dest/big.bin"
	run --separate-stderr gm-submit -f fetch "http://127.0.0.1:$hp/big.bin"
	assert_success
	[[ "$stderr" == *"fetch: 300000/300000 100%"* ]]
	cmp "$d/www/big.bin" "$d/dest/big.bin"
	if is_gearmand; then
		wait_status fetch '0 0 1'
		run gm-submit --status "$missing"
		assert_output "$missing: unknown"
		return 0
	fi
	wait_until 20 eval '[ "$(failed_rows)" = 1 ]'
	run gm-admin --json failed fetch
	assert_equal "$(jq -r '.[0].handle' <<<"$output")" "$missing"
	[[ "$(jq -r '.[0].error' <<<"$output")" == *"curl: (22) The requested URL returned error: 404"* ]]
	run gm-submit --status "$missing"
	assert_failure 1
	assert_output --partial 'curl: (22)'
	echo late >"$d/www/missing.txt"
	run gm-admin retry function fetch
	assert_output 'retried 1'
	wait_until 20 test -e "$d/dest/missing.txt"
	assert_equal "$(cat "$d/dest/missing.txt")" late
	wait_until 10 eval '[[ "$(gm-submit --status "$missing")" == *": done at "* ]]'
	[ "$(failed_rows)" = 0 ]
}
