#!/usr/bin/env bats
# gm-admin: subcommands, tables, --json, --raw, several servers, watch,
# gearadmin's options, exit status.  Where gm-admin differs from
# gearadmin on purpose, the test runs both.

bats_require_minimum_version 1.5.0
load helper
load 30-tools-helper

setup_file() {
	server_start a
	server_start b
	test_worker "$PORT_a" echo w1
	gm-admin create f1
	gm-submit -b -f q1 one >"$BATS_FILE_TMPDIR/h1"
	gm-submit -b -u U1 -f q1 two >"$BATS_FILE_TMPDIR/h2"
	export PORT PORT_a PORT_b PID_a
}

teardown_file() {
	kill_started
}

@test "--help prints usage to stdout and exits 0; so does a bare -h" {
	run --separate-stderr gm-admin --help
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "usage: gm-admin "* ]]
	[ -z "$stderr" ]
	run --separate-stderr gm-admin -h
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "usage: gm-admin "* ]]
}

@test "a bad option, no subcommand or an unknown one: usage on stderr, exit 2" {
	run --separate-stderr gm-admin --bogus status
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[[ "$stderr" == *"usage: gm-admin "* ]]
	run --separate-stderr gm-admin
	[ "$status" -eq 2 ]
	[[ "$stderr" == "gm-admin: no subcommand given"* ]]
	run --separate-stderr gm-admin frobnicate
	[ "$status" -eq 2 ]
	[[ "$stderr" == "gm-admin: unknown or extra argument"* ]]
	run --separate-stderr gm-admin status extra
	[ "$status" -eq 2 ]
	run --separate-stderr gm-admin maxqueue f x
	[ "$status" -eq 2 ]
	run --separate-stderr gm-admin cancel
	[ "$status" -eq 2 ]
}

@test "-H prints usage to stdout and exits 0, as in the other tools" {
	run --separate-stderr gm-admin -H
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "usage: gm-admin "* ]]
	[ -z "$stderr" ]
}

@test "a refused subcommand word is named in the message" {
	run --separate-stderr gm-admin statz
	[ "$status" -eq 2 ]
	[[ "$stderr" == "gm-admin: unknown or extra argument: statz"$'\n'"usage: "* ]]
	run --separate-stderr gm-admin status extra
	[ "$status" -eq 2 ]
	[[ "$stderr" == "gm-admin: unknown or extra argument: extra"$'\n'* ]]
	run --separate-stderr gm-admin maxqueue f x
	[ "$status" -eq 2 ]
	[[ "$stderr" == "gm-admin: a limit is a number from 0 up: x"$'\n'* ]]
	run --separate-stderr gm-admin cancel
	[ "$status" -eq 2 ]
	[[ "$stderr" == "gm-admin: missing argument"$'\n'* ]]
}

@test "--subcommands lists the subcommands the usage shows, and only those" {
	run --separate-stderr gm-admin --subcommands
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(printf '%s ' "${lines[@]}")" = "status workers members jobs unique-jobs priority-status version getpid verbose maxqueue cancel create drop journal stats shutdown watch failed retry purge retries retrying " ]
	# The usage's list: the first word of each "a | b" alternative,
	# once the optional "[...]" and required "{...}" groups are gone.
	help=$(gm-admin --help | sed -n '2,/^       /p' | sed '$d' |
	    tr -d '\t\n' | sed -e ':a' -e 's/\[[^][]*\]//g' -e 'ta' \
	    -e 's/{[^}]*}//g' | tr '|' '\n' |
	    awk '{ print $1 }' | tr '\n' ' ')
	[ "$help" = "$(printf '%s ' "${lines[@]}")" ]
}

@test "the bash completion offers gm-admin's own subcommands" {
	[ -r /usr/share/bash-completion/bash_completion ] ||
	    skip "bash-completion is not installed"
	run bash -c '
	    . /usr/share/bash-completion/bash_completion
	    . "$1"
	    COMP_WORDS=(gm-admin pri); COMP_CWORD=1; COMP_LINE="gm-admin pri"
	    COMP_POINT=${#COMP_LINE}
	    _gm_admin gm-admin pri gm-admin
	    printf "%s\n" "${COMPREPLY[@]}"' _ "$BATS_TEST_DIRNAME/../contrib/completion/gm-admin.bash"
	[ "$status" -eq 0 ]
	[ "$output" = "priority-status" ]
}

@test "-V prints the version" {
	run gm-admin -V
	[ "$status" -eq 0 ]
	[ "$output" = "gm-admin 0.1.0" ]
}

@test "status: an aligned table, sorted by function" {
	run gm-admin status
	[ "$status" -eq 0 ]
	[ "$output" = "FUNCTION  TOTAL  QUEUED  RUNNING  WORKERS
f1            0       0        0        0
q1            2       2        0        0
w1            0       0        0        1" ]
}

@test "status --json" {
	run gm-admin --json status
	[ "$status" -eq 0 ]
	[ "$output" = "[
  {\"server\": \"127.0.0.1:$PORT\", \"function\": \"f1\", \"total\": 0, \"queued\": 0, \"running\": 0, \"workers\": 0},
  {\"server\": \"127.0.0.1:$PORT\", \"function\": \"q1\", \"total\": 2, \"queued\": 2, \"running\": 0, \"workers\": 0},
  {\"server\": \"127.0.0.1:$PORT\", \"function\": \"w1\", \"total\": 0, \"queued\": 0, \"running\": 0, \"workers\": 1}
]" ]
}

@test "--raw prints the server's lines as they came" {
	gm-admin --raw status >"$BATS_TEST_TMPDIR/raw"
	admin status >"$BATS_TEST_TMPDIR/direct"
	cmp "$BATS_TEST_TMPDIR/raw" "$BATS_TEST_TMPDIR/direct"
	gm-admin --raw version >"$BATS_TEST_TMPDIR/raw"
	admin version >"$BATS_TEST_TMPDIR/direct"
	cmp "$BATS_TEST_TMPDIR/raw" "$BATS_TEST_TMPDIR/direct"
}

@test "priority-status" {
	run gm-admin priority-status
	[ "$status" -eq 0 ]
	[ "$output" = "FUNCTION  HIGH  NORMAL  LOW  WORKERS
f1           0       0    0        0
q1           0       2    0        0
w1           0       0    0        1" ]
}

@test "workers: one row per connection, functions last" {
	run gm-admin workers
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^FD\ +ADDRESS\ +CLIENT-ID\ +FUNCTIONS$ ]]
	[ "$(printf '%s\n' "${lines[@]}" | awk '$2 == "127.0.0.1" &&
	    $3 == "-" && $4 == "w1"' | wc -l)" -eq 1 ]
	run gm-admin --json workers
	[[ "$output" == *'"address": "127.0.0.1", "client_id": "-", "functions": ["w1"]}'* ]]
}

@test "jobs: handle, retries, ignored, persisted, target" {
	run gm-admin jobs
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^HANDLE\ +RETRIES\ +IGNORED\ +PERSISTED\ +TARGET$ ]]
	[ "${#lines[@]}" -eq 3 ]
	printf '%s\n' "${lines[@]:1}" | awk '{ print $1, $2, $3, $4 }' |
	    sort >"$BATS_TEST_TMPDIR/got"
	printf '%s 0 0 1\n' "$(cat "$BATS_FILE_TMPDIR/h1")" \
	    "$(cat "$BATS_FILE_TMPDIR/h2")" | sort >"$BATS_TEST_TMPDIR/want"
	diff -u "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
}

@test "unique-jobs lists the unique ids" {
	run gm-admin unique-jobs
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "UNIQUE" ]
	[[ "$output" == *$'\nU1'* ]]
}

@test "version, getpid and verbose print the server's value" {
	run gm-admin version
	[ "$status" -eq 0 ]
	[ "$output" = "$(admin version | sed 's/^OK //')" ]
	run gm-admin getpid
	[ "$status" -eq 0 ]
	[ "$output" = "$PID_a" ]
	run gm-admin verbose
	[ "$status" -eq 0 ]
	[ "$output" = "$(admin verbose | sed 's/^OK //')" ]
	run gm-admin --json getpid
	[ "$output" = "[
  {\"server\": \"127.0.0.1:$PORT\", \"pid\": $PID_a}
]" ]
}

@test "maxqueue limits a function's queue and resets it" {
	gm-submit -b -f mq one >/dev/null
	gm-submit -b -f mq two >/dev/null
	run gm-admin maxqueue mq 2
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
	run gm-submit -b -f mq three
	[ "$status" -eq 5 ]
	run gm-admin maxqueue mq
	[ "$status" -eq 0 ]
	run gm-submit -b -f mq four
	[ "$status" -eq 0 ]
}

@test "cancel: a known job exits 0, an unknown one 1; gearadmin exits 0" {
	local h
	h=$(gm-submit -b -f tocancel x)
	run --separate-stderr gm-admin cancel "$h"
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
	run --separate-stderr gm-admin cancel H:nosuch:1
	[ "$status" -eq 1 ]
	[ "$stderr" = "gm-admin: 127.0.0.1:$PORT: UNKNOWN_JOB" ]
	run --separate-stderr gearadmin -h 127.0.0.1 -p "$PORT" \
	    --cancel-job H:nosuch:1
	[ "$status" -eq 0 ]
	[ "$stderr" = $'Error: UNKNOWN_JOB\r' ]
}

@test "create and drop a function; dropping an unknown one exits 1" {
	run gm-admin create newfn
	[ "$status" -eq 0 ]
	run gm-admin status
	[[ "$output" == *$'\nnewfn '* ]]
	run gm-admin drop newfn
	[ "$status" -eq 0 ]
	run gm-admin status
	[[ "$output" != *newfn* ]]
	run --separate-stderr gm-admin drop nosuchfn
	[ "$status" -eq 1 ]
	[ "$stderr" = "gm-admin: 127.0.0.1:$PORT: function not found" ]
	run gearadmin -h 127.0.0.1 -p "$PORT" --drop-function nosuchfn
	[ "$status" -eq 0 ]
}

@test "journal: gm-server's statistics; gearmand does not know it (exit 1)" {
	run --separate-stderr gm-admin journal
	if is_gm; then
		[ "$status" -eq 0 ]
		[ "${lines[0]}" = "KEY            VALUE" ] ||
		    [[ "${lines[0]}" =~ ^KEY\ +VALUE$ ]]
		[ "$(printf '%s\n' "${lines[@]:1}" | awk '{ print $1 }' |
		    tr '\n' ' ')" = "enabled dir sync bytes live dead flushes last_flush_us peak_flush_us compactions write_errors " ]
	else
		[ "$status" -eq 1 ]
		[[ "$stderr" == "gm-admin: 127.0.0.1:$PORT: the server does not know this command"* ]]
	fi
}

@test "drop of a function with queued jobs and no workers says so; gearmand drops it" {
	local h
	h=$(gm-submit -b -f dq x)
	run --separate-stderr gm-admin drop dq
	if is_gm; then
		[ "$status" -eq 1 ]
		[ "$stderr" = "gm-admin: 127.0.0.1:$PORT: cannot drop dq while it has jobs or workers (jobs 1, running 0, workers 0)" ]
		# The server's own answer is gearmand's text.
		run --separate-stderr gm-admin --raw drop dq
		[ "$status" -eq 1 ]
		[ "$output" = $'ERR there are still connected workers or executing clients\r' ]
		run gm-admin cancel "$h"
		[ "$status" -eq 0 ]
		run gm-admin drop dq
	fi
	[ "$status" -eq 0 ]
	run gm-admin status
	[[ "$output" != *dq* ]]
}

@test "journal --json: numbers are numbers, words are strings" {
	is_gm || skip "gearmand has no journal command"
	run --separate-stderr gm-admin --json journal
	[ "$status" -eq 0 ]
	[[ "$output" == *"\"key\": \"enabled\", \"value\": 1}"* ]] ||
	    [[ "$output" == *"\"key\": \"enabled\", \"value\": 0}"* ]]
	[[ "$output" =~ \"key\":\ \"bytes\",\ \"value\":\ [0-9]+\} ]]
	[[ "$output" =~ \"key\":\ \"sync\",\ \"value\":\ \"[a-z]+\"\} ]]
	[[ "$output" =~ \"key\":\ \"dir\",\ \"value\":\ \" ]]
}

@test "shutdown stops gm-server; gearmand does not know it (exit 1)" {
	server_start s
	run --separate-stderr gm-admin -h "127.0.0.1:$PORT_s" shutdown
	if is_gm; then
		[ "$status" -eq 0 ]
		wait_until 15 eval '! pid_alive $PID_s'
	else
		[ "$status" -eq 1 ]
		[[ "$stderr" == *"the server does not know this command"* ]]
		server_stop s
	fi
}

@test "several servers: one table with a server column and totals" {
	server_start c
	server_start d
	gm-submit -b -f fa -h "127.0.0.1:$PORT_c" x >/dev/null
	gm-submit -b -f fa -h "127.0.0.1:$PORT_d" y >/dev/null
	gm-submit -b -f fa -h "127.0.0.1:$PORT_d" z >/dev/null
	gm-admin -h "127.0.0.1:$PORT_c" create fb
	run gm-admin -h "127.0.0.1:$PORT_c,127.0.0.1:$PORT_d" status
	[ "$status" -eq 0 ]
	local w=${#PORT_c} sp
	sp=$(printf '%*s' $((w - 5)) '')
	[ "$output" = "SERVER      $sp     FUNCTION  TOTAL  QUEUED  RUNNING  WORKERS
127.0.0.1:$PORT_c  fa            1       1        0        0
127.0.0.1:$PORT_d  fa            2       2        0        0
total       $sp     fa            3       3        0        0
127.0.0.1:$PORT_c  fb            0       0        0        0
total       $sp     fb            0       0        0        0" ]
	run gm-admin --json -h "127.0.0.1:$PORT_c,127.0.0.1:$PORT_d" status
	[ "$output" = "[
  {\"server\": \"127.0.0.1:$PORT_c\", \"function\": \"fa\", \"total\": 1, \"queued\": 1, \"running\": 0, \"workers\": 0},
  {\"server\": \"127.0.0.1:$PORT_d\", \"function\": \"fa\", \"total\": 2, \"queued\": 2, \"running\": 0, \"workers\": 0},
  {\"server\": \"127.0.0.1:$PORT_c\", \"function\": \"fb\", \"total\": 0, \"queued\": 0, \"running\": 0, \"workers\": 0}
]" ]
	server_stop c
	server_stop d
}

@test "two servers on one host: handles differ, cancel touches one job" {
	local ha hb n
	server_start e
	server_start f
	ha=$(gm-submit -b -f hc -h "127.0.0.1:$PORT_e" x)
	hb=$(gm-submit -b -f hc -h "127.0.0.1:$PORT_f" y)
	run gm-admin -h "127.0.0.1:$PORT_e,127.0.0.1:$PORT_f" cancel "$hb"
	[ "$status" -eq 0 ]
	run gm-admin -h "127.0.0.1:$PORT_e,127.0.0.1:$PORT_f" status
	n=$(printf '%s\n' "$output" | awk '$1 != "total" && $2 == "hc" { print $1 ":" $4 }')
	if is_gm; then
		# Each handle names its server: only f's job is cancelled.
		[ "$ha" != "$hb" ]
		[ "$n" = "127.0.0.1:$PORT_e:1
127.0.0.1:$PORT_f:0" ]
	else
		# gearmand: both are H:host:1 (and its cancel leaves the
		# queue counts as they were).
		[ "$ha" = "$hb" ]
	fi
	server_stop e
	server_stop f
}

@test "a server that cannot be reached: exit 3, the others still shown" {
	local p
	port_hold
	p=$HELD_PORT
	run --separate-stderr gm-admin -h "127.0.0.1:$PORT_a" -h "127.0.0.1:$p" \
	    priority-status
	[ "$status" -eq 3 ]
	[ "$stderr" = "gm-admin: 127.0.0.1:$p: Connection refused" ]
	[[ "${lines[0]}" =~ ^SERVER ]]
	run --separate-stderr gm-admin -h "127.0.0.1:$p" status
	[ "$status" -eq 3 ]
	[ "$output" = "" ]
	run gearadmin -h 127.0.0.1 -p "$p" --status
	[ "$status" -eq 1 ]
}

@test "a server that does not answer: exit 4 after -t" {
	local p pf=$BATS_TEST_TMPDIR/port
	# It listens on a port of the kernel's choosing and writes it down.
	perl -MIO::Socket::INET -e '
	    my $l = IO::Socket::INET->new(Listen => 1, LocalAddr =>
	        "127.0.0.1", LocalPort => 0) or die;
	    open(my $f, ">", "$ARGV[0].tmp") or die;
	    print $f $l->sockport, "\n"; close $f;
	    rename "$ARGV[0].tmp", $ARGV[0];
	    my $c = $l->accept; sleep 60' "$pf" 3>&- &
	echo $! >>"$BATS_FILE_TMPDIR/pids"
	wait_until 10 test -s "$pf"
	p=$(cat "$pf")
	run --separate-stderr gm-admin -t 300 -h "127.0.0.1:$p" status
	[ "$status" -eq 4 ]
	[ "$stderr" = "gm-admin: 127.0.0.1:$p: no answer to \"status\" within 300 ms" ]
}

@test "watch redraws the status table (-c: a given number of times)" {
	run gm-admin watch 0.05 -c 3
	[ "$status" -eq 0 ]
	local t
	t=$(gm-admin status)
	[ "$output" = "$t

$t

$t" ]
}

@test "gearadmin's options print what gearadmin prints" {
	local o
	for o in --status --priority-status --show-jobs --show-unique-jobs \
	    --server-version --getpid --server-verbose; do
		gm-admin -h 127.0.0.1 -p "$PORT" "$o" >"$BATS_TEST_TMPDIR/gm"
		gearadmin -h 127.0.0.1 -p "$PORT" "$o" >"$BATS_TEST_TMPDIR/ga"
		cmp "$BATS_TEST_TMPDIR/gm" "$BATS_TEST_TMPDIR/ga"
	done
	run gm-admin -h 127.0.0.1 -p "$PORT" --create-function made
	[ "$output" = "OK" ]
	run gearadmin -h 127.0.0.1 -p "$PORT" --drop-function made
	[ "$output" = "OK" ]
}

@test "gearadmin's options run in command-line order; gearadmin reorders" {
	run gm-admin -h 127.0.0.1 -p "$PORT" --server-version --getpid
	[ "${lines[1]}" = "$PID_a" ]
	run gearadmin -h 127.0.0.1 -p "$PORT" --server-version --getpid
	[ "${lines[0]}" = "$PID_a" ]
}

@test "output that cannot be written: exit 6" {
	run --separate-stderr gm-admin status '>' /dev/full
	[ "$status" -eq 2 ]
	run --separate-stderr bash -c 'gm-admin status >/dev/full'
	[ "$status" -eq 6 ]
	[ "$stderr" = "gm-admin: cannot write the output" ]
}
