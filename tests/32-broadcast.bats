#!/usr/bin/env bats
# Broadcast (gm's extension): `gm-admin members FUNC`, `gm-submit --all`
# and `--to`, in the foreground and in the background (-b: one durable job
# per member, held for it until it connects).  Members are the workers
# registered for FUNC, named by client id (gm-work --id, SET_CLIENT_ID),
# across every listed server.  Against gearmand, which has no broadcast,
# both fail at once with a clear error.

bats_require_minimum_version 1.5.0
load helper
load 40-work-helper

setup() {
	server_start s1
	WORK_PIDS=()
	CLIENTS=$BATS_TEST_DIRNAME/clients
}

# php_worker NAME PORT ID FUNC / perl_worker ...: a library worker with a
# client id, waited for until the server counts one more worker of FUNC.
lib_worker() {
	local name=$1 port=$2 id=$3 fn=$4 before
	shift 4
	before=$(admin "$port" status | awk -F'\t' -v f="$fn" '$1 == f { print $4 }')
	GEARMAN_SERVER="127.0.0.1:$port" "$@" -i "$id" "$fn" \
	    2>"$BATS_TEST_TMPDIR/$name.err" 3>&- </dev/null &
	printf -v "WPID_$name" %s $!
	WORK_NAMES="${WORK_NAMES:-} $name"
	wait_until 20 workers_for "$fn" "$port" -gt "${before:-0}"
}

@test "against gearmand: --all and members fail at once, saying there is no broadcast" {
	is_gearmand || skip "the gearmand case"
	run -5 gm-submit -h "127.0.0.1:$PORT" --all -f up hi
	assert_output --regexp "^gm-submit: 127\.0\.0\.1:$PORT: the server does not support broadcast \(it has no \"members\" command: ERR UNKNOWN_COMMAND .*\)$"
	run -1 gm-admin -h "127.0.0.1:$PORT" members up
	assert_output "gm-admin: 127.0.0.1:$PORT: the server does not know this command (UNKNOWN_COMMAND Unknown+server+commandmembers)"
	# Background broadcast asks for the members first: the same error.
	run -5 gm-submit -h "127.0.0.1:$PORT" -b --all -f up hi
	assert_output --regexp "^gm-submit: 127\.0\.0\.1:$PORT: the server does not support broadcast \(it has no \"members\" command: ERR UNKNOWN_COMMAND .*\)$"
	run -5 gm-submit -h "127.0.0.1:$PORT" -b --to web3 -f up hi
	assert_output --regexp "^gm-submit: 127\.0\.0\.1:$PORT: the server does not support broadcast"
}

@test "five members on two servers, one of them on both: one labelled reply each" {
	gm_only
	server_start s2
	work_start w1 -h "127.0.0.1:$PORT_s1" --id web1 -f echo -- cat
	WPORT=$PORT_s2 work_start w2 -h "127.0.0.1:$PORT_s2" --id web2 -f echo -- cat
	work_start both -h "127.0.0.1:$PORT_s1,127.0.0.1:$PORT_s2" --id both \
	    -f echo -- cat
	wait_until 20 workers_for echo "$PORT_s2" -eq 2
	lib_worker php "$PORT_s1" php1 echo php "$CLIENTS/php-worker.php"
	lib_worker perl "$PORT_s2" perl1 echo perl "$CLIENTS/perl-worker.pl"

	run -0 gm-admin -h "127.0.0.1:$PORT_s1,127.0.0.1:$PORT_s2" --json members echo
	[ "$(printf '%s\n' "$output" | grep -c '"member"')" -eq 6 ]
	run -0 --separate-stderr gm-submit -h "127.0.0.1:$PORT_s1,127.0.0.1:$PORT_s2" \
	    --all -f echo hi
	run -0 sort <<<"$output"
	assert_output "both: hi
perl1: hi
php1: hi
web1: hi
web2: hi"
	run -0 gm-submit -h "127.0.0.1:$PORT_s1,127.0.0.1:$PORT_s2" --all -f echo hi
	assert_line "gm-submit: echo: 5 members: 5 done, 0 failed, 0 no answer"

	# --json: one object per member; the member on both servers came
	# from the first server that listed it.
	run -0 --separate-stderr gm-submit -h "127.0.0.1:$PORT_s1,127.0.0.1:$PORT_s2" \
	    --all --json -f echo hi
	run -0 sort <<<"$output"
	assert_output "{\"member\": \"both\", \"server\": \"127.0.0.1:$PORT_s1\", \"status\": \"done\", \"result\": \"hi\", \"error\": null}
{\"member\": \"perl1\", \"server\": \"127.0.0.1:$PORT_s2\", \"status\": \"done\", \"result\": \"hi\", \"error\": null}
{\"member\": \"php1\", \"server\": \"127.0.0.1:$PORT_s1\", \"status\": \"done\", \"result\": \"hi\", \"error\": null}
{\"member\": \"web1\", \"server\": \"127.0.0.1:$PORT_s1\", \"status\": \"done\", \"result\": \"hi\", \"error\": null}
{\"member\": \"web2\", \"server\": \"127.0.0.1:$PORT_s2\", \"status\": \"done\", \"result\": \"hi\", \"error\": null}"

	# --no-label: the bare replies.
	run -0 --separate-stderr gm-submit -h "127.0.0.1:$PORT_s1" --to web1 \
	    --no-label -f echo hi
	assert_output "hi"
}

@test "gm-admin members: one line per member, a connection registered twice once" {
	gm_only
	work_start w1 --id web1 -f up -f up -f down -- cat
	run -0 gm-admin members up
	assert_output --regexp "^MEMBER +FD +ADDRESS +FUNCTION
web1 +[0-9]+ +127\.0\.0\.1 +up$"
	run -0 gm-admin members nosuch
	assert_output "MEMBER  FD  ADDRESS  FUNCTION"
	# Without a function: the members of every function.
	run -0 gm-admin members
	assert_output --regexp "^MEMBER +FD +ADDRESS +FUNCTION
web1 +[0-9]+ +127\.0\.0\.1 +up
web1 +[0-9]+ +127\.0\.0\.1 +down$"
}

@test "a member fails, one is killed mid-job, one never answers: each named, the others intact" {
	gm_only
	work_start ok --id ok -f f -- sh -c 'echo fine'
	work_start bad --id bad -f f -- sh -c 'echo partial; exit 1'
	work_start dead --id dead -f f -- sh -c "echo \$\$ >'$BATS_TEST_TMPDIR/dead.pid'; exec sleep 60"
	# work_start waits for the first worker of f only.
	wait_workers f 3
	# No deadline: every member ends by a condition the test brings
	# about (its answer, or its worker killed), however slowly the
	# machine starts their commands.
	gm-submit --all -f f hi >"$BATS_TEST_TMPDIR/out" \
	    2>"$BATS_TEST_TMPDIR/err" &
	sub=$!
	wait_until 20 test -s "$BATS_TEST_TMPDIR/dead.pid"
	kill -KILL "$(work_pid dead)"
	kill -KILL "$(cat "$BATS_TEST_TMPDIR/dead.pid")"
	rc=0
	wait "$sub" || rc=$?
	[ "$rc" -eq 1 ]
	run sort "$BATS_TEST_TMPDIR/out"
	assert_output "bad: partial
ok: fine"
	run tail -n 1 "$BATS_TEST_TMPDIR/err"
	assert_output "gm-submit: f: 3 members: 1 done, 2 failed (bad: sh: exited with status 1, dead: failed), 0 no answer"
	# A member that provably never answers within -t (its command runs
	# far longer), alone under the deadline: no other member has to
	# start a command within it.  (Its worker's SIGINT at teardown kills
	# the command.)
	work_start silent --id silent -f g -- sleep 600
	rc=0
	gm-submit --all -t 1000 -f g hi >"$BATS_TEST_TMPDIR/out" \
	    2>"$BATS_TEST_TMPDIR/err" || rc=$?
	[ "$rc" -eq 4 ]
	run cat "$BATS_TEST_TMPDIR/out"
	assert_output ""
	run tail -n 1 "$BATS_TEST_TMPDIR/err"
	assert_output "gm-submit: g: 1 member: 0 done, 0 failed, 1 no answer (silent)"
}

@test "a member fails: exit status 1 and its reason" {
	gm_only
	work_start ok --id ok -f f -- sh -c 'echo fine'
	work_start bad --id bad -f f -- sh -c 'exit 2'
	run -1 --separate-stderr gm-submit --all -f f hi
	assert_output "ok: fine"
	[ "${stderr_lines[-1]}" = "gm-submit: f: 2 members: 1 done, 1 failed (bad: sh: exited with status 2), 0 no answer" ]
}

@test "--to: the named members only; an unknown name is reported" {
	gm_only
	work_start w1 --id web1 -f up -- sh -c 'echo one'
	work_start w2 --id web2 -f up -- sh -c 'echo two'
	run -0 --separate-stderr gm-submit --to web2 -f up hi
	assert_output "web2: two"
	run -1 --separate-stderr gm-submit --to web1 --to web9 -f up hi
	assert_output "web1: one"
	[ "${stderr_lines[0]}" = "gm-submit: up: web9 is not a member (not connected, or not registered for up)" ]
	[ "${stderr_lines[1]}" = "gm-submit: up: 1 member: 1 done, 0 failed, 0 no answer" ]
	run -1 gm-submit --to web9 -f up hi
	assert_line "gm-submit: up: no members: no worker of those named is registered for up on any server"
}

@test "the bash completion offers the members of -f FUNC after --to" {
	gm_only
	[ -r /usr/share/bash-completion/bash_completion ] ||
	    skip "bash-completion is not installed"
	work_start w1 --id web1 -f up -- cat
	work_start w2 --id other -f down -- cat
	run -0 bash -c '
	    . /usr/share/bash-completion/bash_completion
	    . "$1"
	    COMP_WORDS=(gm-submit -f up --to ""); COMP_CWORD=4
	    COMP_LINE="gm-submit -f up --to "; COMP_POINT=${#COMP_LINE}
	    _gm_submit gm-submit "" --to
	    printf "%s\n" "${COMPREPLY[@]}"' _ "$BATS_TEST_DIRNAME/../contrib/completion/gm-submit.bash"
	assert_output "web1"
}

@test "zero members: an error of its own" {
	gm_only
	run -1 gm-submit --all -f nobody hi
	assert_output "gm-submit: nobody: no members: no worker is registered for nobody on any server"
}

@test "a busy member gets its broadcast job after its current one, never another worker" {
	gm_only
	work_start w1 --id web1 -f up -- sh -c 'echo one'
	# web2 also does "hold", whose job waits until the file go exists.
	work_start w2 --id web2 -f up -f hold -- sh -c "d=\$(cat); [ \"\$d\" != block ] ||
	    while [ ! -e '$BATS_TEST_TMPDIR/go' ]; do sleep 0.05; done; echo two \$d"
	gm-submit -f hold block >"$BATS_TEST_TMPDIR/hold.out" &
	hold=$!
	wait_until 20 eval '[ "$(status_row hold | cut -f3)" = 1 ]'
	gm-submit --to web2 -f up hi >"$BATS_TEST_TMPDIR/out" 2>&1 &
	sub=$!
	# Queued for web2 alone: idle web1 is not given it.
	wait_until 20 eval '[ "$(status_row up | cut -f2,3)" = "1	0" ]'
	touch "$BATS_TEST_TMPDIR/go"
	wait "$hold"
	wait "$sub"
	run cat "$BATS_TEST_TMPDIR/out"
	assert_output "web2: two hi
gm-submit: up: 1 member: 1 done, 0 failed, 0 no answer"
}

# restart_http: restart s1 on its port (held meanwhile) with HTTP on a
# port held until it binds it; HELD_PORT is the HTTP port.
restart_http() {
	local http
	port_hold
	http=$HELD_PORT
	server_stop s1
	port_hold "$PORT_s1"
	HELD_PORT=$http
	server_start s1 --http-port "$http"
	wait_until 20 port_open "$http"
}

@test "a job held for a busy member is the function's oldest queued on the status page" {
	gm_only
	local http page row hold sub
	restart_http
	http=$HELD_PORT
	work_start w2 --id web2 -f up -f hold -- sh -c "d=\$(cat); [ \"\$d\" != block ] ||
	    while [ ! -e '$BATS_TEST_TMPDIR/go' ]; do sleep 0.05; done; echo two \$d"
	gm-submit -f hold block >/dev/null &
	hold=$!
	wait_until 20 eval '[ "$(status_row hold | cut -f3)" = 1 ]'
	gm-submit --to web2 -f up hi >"$BATS_TEST_TMPDIR/out" 2>&1 &
	sub=$!
	wait_until 20 eval '[ "$(status_row up | cut -f2,3)" = "1	0" ]'
	# Only the targeted job is queued for up: its row shows its age.
	page=$(curl -s --max-time 10 "http://127.0.0.1:$http/")
	row=$(printf '%s\n' "$page" | grep '^<tr><td data-label="Function">up</td>')
	[[ "$row" =~ data-label=\"Oldest\ queued\"\>[0-9]+s\</td\>\</tr\>$ ]]
	touch "$BATS_TEST_TMPDIR/go"
	wait "$hold"
	wait "$sub"
	page=$(curl -s --max-time 10 "http://127.0.0.1:$http/")
	row=$(printf '%s\n' "$page" | grep '^<tr><td data-label="Function">up</td>')
	[[ "$row" == *'data-label="Oldest queued">-</td></tr>' ]]
}

# raw [GMRAW ARGS...]: tests/tools/gmraw against $PORT, script on stdin.
raw() {
	"$GM_BUILD/tests/tools/gmraw" -p "$PORT" "$@"
}

@test "wire: OPTION_REQ target=NAME, a job only that member grabs, a sleeping member woken" {
	gm_only
	run raw <<'EOF2'
@2 REQ SET_CLIENT_ID other
@2 REQ CAN_DO f
@3 REQ SET_CLIENT_ID web1
@3 REQ CAN_DO f
@3 REQ PRE_SLEEP
@3 SYNC
@1 REQ OPTION_REQ target=web1
@1 WAIT 1
@1 REQ SUBMIT_JOB f "" hi
@1 WAIT 1
@3 WAIT 1
@2 REQ GRAB_JOB
@2 WAIT 1
@3 REQ GRAB_JOB
@3 WAIT 1
@3 REQ WORK_COMPLETE %H done
@1 WAIT 1
@1 ADMIN members f
EOF2
	assert_success
	assert_output --regexp '^OPTION_RES target=web1
JOB_CREATED H:HOST:1
@3 NOOP
@2 NO_JOB
@3 JOB_ASSIGN H:HOST:1 f hi
WORK_COMPLETE H:HOST:1 done
\| other\\t[0-9]+\\t127\.0\.0\.1\\tf
\| web1\\t[0-9]+\\t127\.0\.0\.1\\tf
\| \.$'
}

@test "wire: a member that leaves mid-job fails it; a reduce job with a target is refused, a background one queued" {
	gm_only
	run raw <<'EOF2'
@2 REQ SET_CLIENT_ID web1
@2 REQ CAN_DO f
@3 REQ CAN_DO f
@1 REQ OPTION_REQ target=web1
@1 WAIT 1
@1 REQ SUBMIT_JOB f "" hi
@1 WAIT 1
@2 REQ GRAB_JOB
@2 WAIT 1
@2 CLOSE
@1 WAIT 1
@3 REQ GRAB_JOB
@3 WAIT 1
@1 REQ SUBMIT_REDUCE_JOB f "" r agg x
@1 WAIT 1
@1 REQ SUBMIT_JOB_BG f "" x
@1 WAIT 1
@3 REQ GRAB_JOB
@3 WAIT 1
@1 REQ OPTION_REQ target=a\x09b
@1 WAIT 1
@1 REQ OPTION_REQ target=
@1 WAIT 1
@1 REQ SUBMIT_JOB_BG f "" y
@1 WAIT 1
@3 REQ GRAB_JOB
@3 WAIT 1
EOF2
	assert_success
	assert_output 'OPTION_RES target=web1
JOB_CREATED H:HOST:1
@2 JOB_ASSIGN H:HOST:1 f hi
WORK_FAIL H:HOST:1
@3 NO_JOB
ERROR INVALID_TARGET "Broadcast jobs are not reduce jobs"
JOB_CREATED H:HOST:2
@3 NO_JOB
ERROR INVALID_TARGET "Target member name too long or holds a control character"
OPTION_RES target=
JOB_CREATED H:HOST:3
@3 JOB_ASSIGN H:HOST:3 f y'
}

# Background broadcast (-b): one durable job per member.

# runner NAME: a gm-work command that appends each payload, one a line, to
# $BATS_TEST_TMPDIR/runs.NAME (the member's count of executions).
runner() {
	echo "d=\$(cat); echo \"\$d\" >>'$BATS_TEST_TMPDIR/runs.$1'; echo ran"
}

# runs NAME: what member NAME ran, one payload a line (nothing if none).
runs() {
	cat "$BATS_TEST_TMPDIR/runs.$1" 2>/dev/null || true
}

# member_up NAME FUNC [PORT]: wait until NAME is a member of FUNC.
member_up() {
	wait_until 20 eval "admin ${3:-$PORT} 'members $2' | grep -q '^$1	'"
}

# handle_of OUTPUT NAME: the handle gm-submit -b printed for member NAME.
handle_of() {
	printf '%s\n' "$1" | sed -n "s/^$2: //p"
}

@test "-b --all: one labelled handle per member, each member runs it exactly once" {
	gm_only
	for n in web1 web2 web3; do
		work_start "$n" --id "$n" -f up -- sh -c "$(runner "$n")"
		member_up "$n" up
	done
	run -0 --separate-stderr gm-submit -b --all -f up hi
	run -0 sort <<<"$output"
	[ "${#lines[@]}" -eq 3 ]
	assert_line --index 0 --regexp "^web1: $(host_prefix):[0-9]+$"
	assert_line --index 1 --regexp "^web2: $(host_prefix):[0-9]+$"
	assert_line --index 2 --regexp "^web3: $(host_prefix):[0-9]+$"
	[ "$(printf '%s\n' "$output" | cut -d' ' -f2 | sort -u | wc -l)" -eq 3 ]
	[ "$stderr" = "gm-submit: up: 3 members: 3 queued, 0 failed, 0 no answer" ]
	# Every job ran and nothing is left: each member ran it once.
	wait_until 20 eval '[ "$(status_row up | cut -f2)" = 0 ]'
	for n in web1 web2 web3; do
		run runs "$n"
		assert_output "hi"
	done
	# --json: one object per member with its handle; --no-label: handles.
	run -0 --separate-stderr gm-submit -b --all --json -f up j
	run -0 sort <<<"$output"
	assert_output --regexp "^\{\"member\": \"web1\", \"server\": \"127\.0\.0\.1:$PORT\", \"status\": \"queued\", \"handle\": \"$(host_prefix):[0-9]+\", \"error\": null\}
\{\"member\": \"web2\", .*
\{\"member\": \"web3\", .*\}$"
	run -0 --separate-stderr gm-submit -b --all --no-label -f up n
	[ "${#lines[@]}" -eq 3 ]
	assert_line --index 0 --regexp "^$(host_prefix):[0-9]+$"
	wait_until 20 eval '[ "$(status_row up | cut -f2)" = 0 ]'
	for n in web1 web2 web3; do
		run runs "$n"
		assert_output "hi
j
n"
	done
}

@test "-b --to a member that is down: held for it, run when it reconnects with its id, never by another worker" {
	gm_only
	work_start web2 --id web2 -f up -- sh -c "$(runner web2)"
	run -0 --separate-stderr gm-submit -b --to web1 --to web2 -f up later
	[ "${stderr_lines[0]}" = "gm-submit: up: web1 is not a member now: its job waits for it on 127.0.0.1:$PORT" ]
	[ "${stderr_lines[1]}" = "gm-submit: up: 2 members: 2 queued, 0 failed, 0 no answer" ]
	assert_line --index 0 --regexp "^web1: $(host_prefix):[0-9]+$"
	assert_line --index 1 --regexp "^web2: $(host_prefix):[0-9]+$"
	# web2 runs its own; web1's waits, though web2 is idle.
	wait_until 20 eval '[ "$(runs web2)" = later ]'
	wait_until 20 eval '[ "$(status_row up | cut -f2,3)" = "1	0" ]'
	h1=$(handle_of "$output" web1)
	run -0 gm-admin jobs
	assert_line --regexp "^$h1 +0 +0 +1 +web1$"
	run -0 gm-admin --json jobs
	[ "$(grep -c '"target": "web1"' <<<"$output")" -eq 1 ]
	# web1 comes back (gm-work --id web1) and gets it.
	work_start web1 --id web1 -f up -- sh -c "$(runner web1)"
	wait_until 20 eval '[ "$(runs web1)" = later ]'
	wait_until 20 eval '[ "$(status_row up | cut -f2)" = 0 ]'
	run runs web2
	assert_output "later"
}

@test "-b survives SIGKILL of the server: replayed with targets, each member gets only its own" {
	gm_only
	# Restarted on its port (held while it is down), with a journal.
	server_stop s1
	port_hold "$PORT_s1"
	JOURNAL_s1=$BATS_TEST_TMPDIR/journal server_start s1
	run -0 --separate-stderr gm-submit -b --to web1 --to web2 --to web3 -f up "x y"
	h1=$(handle_of "$output" web1)
	h2=$(handle_of "$output" web2)
	h3=$(handle_of "$output" web3)
	run -0 gm-admin --json jobs
	assert_line "  {\"server\": \"127.0.0.1:$PORT\", \"handle\": \"$h1\", \"retries\": 0, \"ignored\": 0, \"persisted\": 1, \"target\": \"web1\"},"
	server_stop s1 KILL
	port_hold "$PORT_s1"
	JOURNAL_s1=$BATS_TEST_TMPDIR/journal server_start s1
	run -0 gm-admin jobs
	run -0 sort <<<"$output"
	assert_output --regexp "^$h1 +0 +0 +1 +web1
$h2 +0 +0 +1 +web2
$h3 +0 +0 +1 +web3
HANDLE +RETRIES +IGNORED +PERSISTED +TARGET$"
	# A worker of up that is no member of these gets none of them.
	work_start other --id other -f up -- sh -c "$(runner other)"
	work_start web2 --id web2 -f up -- sh -c "$(runner web2)"
	wait_until 20 eval '[ "$(runs web2)" = "x y" ]'
	wait_until 20 eval '[ "$(status_row up | cut -f2,3)" = "2	0" ]'
	work_start web1 --id web1 -f up -- sh -c "$(runner web1)"
	work_start web3 --id web3 -f up -- sh -c "$(runner web3)"
	wait_until 20 eval '[ "$(status_row up | cut -f2)" = 0 ]'
	for n in web1 web2 web3; do
		run runs "$n"
		assert_output "x y"
	done
	run runs other
	assert_output ""
	# Done for good: a second crash brings none of them back.  A later
	# job's JOB_CREATED shows their end records are on disk (in order).
	run -0 gm-submit -b -f later z
	hz=$output
	server_stop s1 KILL
	port_hold "$PORT_s1"
	JOURNAL_s1=$BATS_TEST_TMPDIR/journal server_start s1
	run -0 admin "show jobs"
	assert_output "$hz	0	0	1
."
}

@test "-b: the admin views and the page show per-member jobs; one is cancelled by its handle" {
	gm_only
	local http
	restart_http
	http=$HELD_PORT
	run -0 --separate-stderr gm-submit -b --to web1 --to web2 -f up hi
	h1=$(handle_of "$output" web1)
	h2=$(handle_of "$output" web2)
	run -0 admin "show jobs"
	run -0 sort <<<"$output"
	assert_output ".
$h1	0	0	1	web1
$h2	0	0	1	web2"
	curl -s --max-time 10 "http://127.0.0.1:$http/api/jobs" >"$BATS_TEST_TMPDIR/http"
	gm-admin --json jobs >"$BATS_TEST_TMPDIR/admin"
	diff -u "$BATS_TEST_TMPDIR/admin" "$BATS_TEST_TMPDIR/http"
	run grep -c '"target": "web[12]"' "$BATS_TEST_TMPDIR/http"
	assert_output 2
	run curl -s --max-time 10 "http://127.0.0.1:$http/"
	assert_output --partial "<section><h2>Broadcast jobs waiting for their member</h2>"
	assert_line --regexp "^<tr><td data-label=\"Handle\">$h1</td><td data-label=\"Function\">up</td><td data-label=\"Member\">web1</td><td class=\"n\" data-label=\"Waiting for\">[0-9]+s</td></tr>$"
	assert_line --regexp "^<tr><td data-label=\"Handle\">$h2</td>.*data-label=\"Member\">web2</td>"
	# Cancel web1's: web2's alone is left, and web1 never runs anything.
	run -0 gm-admin cancel "$h1"
	run -0 admin "show jobs"
	assert_output "$h2	0	0	1	web2
."
	work_start web1 --id web1 -f up -- sh -c "$(runner web1)"
	work_start web2 --id web2 -f up -- sh -c "$(runner web2)"
	wait_until 20 eval '[ "$(status_row up | cut -f2)" = 0 ]'
	run runs web2
	assert_output "hi"
	run runs web1
	assert_output ""
	run curl -s --max-time 10 "http://127.0.0.1:$http/"
	refute_output --partial "Broadcast jobs waiting"
}

@test "-b: a failing member's job lands in the failed list; a retry goes to that member only" {
	gm_only
	# web1 fails the first time, then succeeds; web2 would succeed.
	work_start web1 --id web1 -f up -- sh -c "d=\$(cat)
	    if [ -e '$BATS_TEST_TMPDIR/failed.once' ]; then echo \"\$d\" >>'$BATS_TEST_TMPDIR/runs.web1'
	    else touch '$BATS_TEST_TMPDIR/failed.once'; echo broken >&2; exit 3; fi"
	member_up web1 up
	run -0 --separate-stderr gm-submit -b --to web1 -f up hi
	h1=$(handle_of "$output" web1)
	wait_until 20 eval '[ -n "$(admin "failed list up" | grep -v "^\.$")" ]'
	run -0 admin "failed list up"
	assert_line --index 0 --partial "$h1	up	"
	work_start web2 --id web2 -f up -- sh -c "$(runner web2)"
	member_up web2 up
	run -0 gm-admin retry "$h1"
	wait_until 20 eval '[ "$(runs web1)" = hi ]'
	wait_until 20 eval '[ "$(status_row up | cut -f2)" = 0 ]'
	run runs web2
	assert_output ""
	run -0 admin "failed list up"
	assert_output "."
}

@test "-b: PHP and Perl workers, members by their client ids, run theirs as ordinary jobs" {
	gm_only
	work_start other --id other -f echo -- sh -c "$(runner other)"
	run -0 --separate-stderr gm-submit -b --to php1 --to perl1 -f echo hi
	[ "${#lines[@]}" -eq 2 ]
	wait_until 20 eval '[ "$(status_row echo | cut -f2,3)" = "2	0" ]'
	hperl=$(handle_of "$output" perl1)
	# Each library worker takes one job (-c 1) and exits: its own.
	php "$CLIENTS/php-worker.php" -c 1 -i php1 echo \
	    2>"$BATS_TEST_TMPDIR/php.err" 3>&- </dev/null &
	php=$!
	wait_until 30 eval "! pid_alive $php"
	wait "$php"
	# Its job ends (the server may read its WORK_COMPLETE after this):
	# perl1's alone is left.
	want="$hperl	0	0	1	perl1
."
	wait_until 20 eval '[ "$(admin "show jobs")" = "$want" ]'
	perl "$CLIENTS/perl-worker.pl" -c 1 -i perl1 echo \
	    2>"$BATS_TEST_TMPDIR/perl.err" 3>&- </dev/null &
	perl=$!
	wait_until 30 eval "! pid_alive $perl"
	wait "$perl"
	wait_until 20 eval '[ "$(status_row echo | cut -f2)" = 0 ]'
	run runs other
	assert_output ""
}

@test "-b --all on two servers: a member on both gets its job once, from the first" {
	gm_only
	server_start s2
	work_start web1 -h "127.0.0.1:$PORT_s1" --id web1 -f up -- sh -c "$(runner web1)"
	WPORT=$PORT_s2 work_start web2 -h "127.0.0.1:$PORT_s2" --id web2 -f up -- sh -c "$(runner web2)"
	work_start both -h "127.0.0.1:$PORT_s1,127.0.0.1:$PORT_s2" --id both \
	    -f up -- sh -c "$(runner both)"
	member_up both up "$PORT_s1"
	member_up both up "$PORT_s2"
	run -0 --separate-stderr gm-submit -h "127.0.0.1:$PORT_s1,127.0.0.1:$PORT_s2" \
	    -b --all --json -f up hi
	run -0 sort <<<"$output"
	assert_output --regexp "^\{\"member\": \"both\", \"server\": \"127\.0\.0\.1:$PORT_s1\", \"status\": \"queued\", .*
\{\"member\": \"web1\", \"server\": \"127\.0\.0\.1:$PORT_s1\", .*
\{\"member\": \"web2\", \"server\": \"127\.0\.0\.1:$PORT_s2\", .*\}$"
	wait_until 20 eval '[ "$(status_row up "$PORT_s1" | cut -f2)" = 0 ]'
	wait_until 20 eval '[ "$(status_row up "$PORT_s2" | cut -f2)" = 0 ]'
	for n in web1 web2 both; do
		run runs "$n"
		assert_output "hi"
	done
}
