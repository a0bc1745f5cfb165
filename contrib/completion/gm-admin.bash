# bash completion for gm-admin(1).  The subcommands come from gm-admin
# itself (gm-admin --subcommands lists its parser's table).
# Install as /usr/share/bash-completion/completions/gm-admin, or source it.

# Function names the servers know, from their status tables.
_gm_admin_functions()
{
	local srv=${GEARMAN_SERVER:-localhost:4730}
	gm-admin -t 500 -h "$srv" --raw status 2>/dev/null |
	    awk -F '\t' 'NF == 4 { print $1 }'
}

# Job handles the servers hold.
_gm_admin_handles()
{
	local srv=${GEARMAN_SERVER:-localhost:4730}
	gm-admin -t 500 -h "$srv" --raw jobs 2>/dev/null |
	    awk -F '\t' 'NF == 4 { print $1 }'
}

# Handles of the jobs in the servers' failed lists.
_gm_admin_failed()
{
	local srv=${GEARMAN_SERVER:-localhost:4730}
	gm-admin -t 500 -h "$srv" --raw failed 2>/dev/null |
	    awk -F '\t' 'NF == 9 { print $1 }'
}

# Handles of jobs waiting for a retry (retry runs them now).
_gm_admin_retrying()
{
	local srv=${GEARMAN_SERVER:-localhost:4730}
	gm-admin -t 500 -h "$srv" --raw retrying 2>/dev/null |
	    awk -F '\t' 'NF == 6 { print $1 }'
}

_gm_admin()
{
	local cur prev words cword i sub= nwords=0
	_init_completion -s || return

	case $prev in
	--ssl-ca-file|--ssl-certificate|--ssl-key)
		_filedir
		return
		;;
	-h|--host)
		_known_hosts_real -- "$cur"
		return
		;;
	-c|--count|-p|--port|-t|--timeout)
		return
		;;
	--create-function|--drop-function)
		COMPREPLY=($(compgen -W "$(_gm_admin_functions)" -- "$cur"))
		return
		;;
	--cancel-job)
		COMPREPLY=($(compgen -W "$(_gm_admin_handles)" -- "$cur"))
		return
		;;
	esac

	# The subcommand, and how many words follow it.
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		-c|-h|-p|-t|--count|--host|--port|--timeout|--ssl-ca-file|\
		--ssl-certificate|--ssl-key)
			((i++))
			;;
		-*)
			;;
		*)
			if [ -z "$sub" ]; then
				sub=${words[i]}
			else
				((nwords++))
			fi
			;;
		esac
	done

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W '-c -H -h -p -S -t -V --count --help --host
		    --json --port --raw --ssl --ssl-ca-file --ssl-certificate
		    --ssl-key --ssl-no-verify --subcommands --timeout --version
		    --status --workers
		    --show-jobs --show-unique-jobs --priority-status
		    --server-version --server-verbose --getpid
		    --create-function --drop-function --cancel-job' -- "$cur"))
		return
	fi
	case $sub in
	'')
		COMPREPLY=($(compgen -W "$(gm-admin --subcommands 2>/dev/null)" \
		    -- "$cur"))
		;;
	maxqueue|drop|members)
		[ "$nwords" -eq 0 ] &&
		    COMPREPLY=($(compgen -W "$(_gm_admin_functions)" -- "$cur"))
		;;
	cancel)
		[ "$nwords" -eq 0 ] &&
		    COMPREPLY=($(compgen -W "$(_gm_admin_handles)" -- "$cur"))
		;;
	failed)
		[ "$nwords" -eq 0 ] &&
		    COMPREPLY=($(compgen -W "show payload stats
		    $(_gm_admin_functions)" -- "$cur"))
		[ "$nwords" -eq 1 ] && [[ $prev == show || $prev == payload ]] &&
		    COMPREPLY=($(compgen -W "$(_gm_admin_failed)" -- "$cur"))
		;;
	retry|purge)
		[ "$nwords" -eq 0 ] &&
		    COMPREPLY=($(compgen -W "all function $(_gm_admin_failed)
		    $([ "$sub" = purge ] || _gm_admin_retrying)" -- "$cur"))
		[ "$nwords" -eq 1 ] && [ "$prev" = function ] &&
		    COMPREPLY=($(compgen -W "$(_gm_admin_functions)" -- "$cur"))
		;;
	retries|retrying)
		[ "$nwords" -eq 0 ] &&
		    COMPREPLY=($(compgen -W "$(_gm_admin_functions)" -- "$cur"))
		[ "$sub" = retries ] && [ "$nwords" -eq 1 ] &&
		    COMPREPLY=($(compgen -W 'default' -- "$cur"))
		;;
	shutdown)
		[ "$nwords" -eq 0 ] &&
		    COMPREPLY=($(compgen -W 'graceful' -- "$cur"))
		;;
	esac
} &&
    complete -F _gm_admin gm-admin
