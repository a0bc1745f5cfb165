# bash completion for gm-submit(1).
# Install as /usr/share/bash-completion/completions/gm-submit, or source it.

# Function names the servers know, from their status tables.
_gm_submit_functions()
{
	local srv=${GEARMAN_SERVER:-localhost:4730}
	command -v gm-admin >/dev/null 2>&1 || return 0
	gm-admin -t 500 -h "$srv" --raw status 2>/dev/null |
	    awk -F '\t' 'NF == 4 { print $1 }'
}

# Broadcast members of function $1 (gm-server's `members`).
_gm_submit_members()
{
	local srv=${GEARMAN_SERVER:-localhost:4730}
	command -v gm-admin >/dev/null 2>&1 || return 0
	gm-admin -t 500 -h "$srv" --raw members "$1" 2>/dev/null |
	    awk -F '\t' 'NF == 4 { print $1 }'
}

_gm_submit()
{
	local cur prev words cword i fn=
	_init_completion -s || return

	case $prev in
	--to)
		for ((i = 1; i < cword; i++)); do
			case ${words[i]} in
			-f|--function) fn=${words[i + 1]} ;;
			esac
		done
		[ -n "$fn" ] &&
		    COMPREPLY=($(compgen -W "$(_gm_submit_members "$fn")" \
		    -- "$cur"))
		return
		;;
	-f|--function)
		COMPREPLY=($(compgen -W "$(_gm_submit_functions)" -- "$cur"))
		return
		;;
	-i|--pidfile|--ssl-ca-file|--ssl-certificate|--ssl-key)
		_filedir
		return
		;;
	-h|--host)
		_known_hosts_real -- "$cur"
		return
		;;
	-j|--jobs|-p|--port|-t|--timeout|-u|--unique|--at|--status|--probe)
		return
		;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W '-b -f -H -h -I -i -j -L -N -n -P -p
		    -S -s -t -u -V -v --all --at --background --function --help
		    --high --host --jobs --json --low --no-label --pidfile --port
		    --prefix --probe --ssl
		    --ssl-ca-file --ssl-certificate --ssl-key --ssl-no-verify
		    --status --timeout --to --unique --unordered --verbose
		    --version' \
		    -- "$cur"))
		return
	fi
} &&
    complete -F _gm_submit gm-submit
