# bash completion for gm-work(1).
# Install as /usr/share/bash-completion/completions/gm-work, or source it.

# Function names the server knows, from its status table.
_gm_work_functions()
{
	local srv=${GEARMAN_SERVER:-localhost:4730}
	srv=${srv%%,*}
	command -v gm-admin >/dev/null 2>&1 || return 0
	gm-admin -t 500 -h "$srv" --raw status 2>/dev/null |
	    awk -F '\t' 'NF == 4 { print $1 }'
}

_gm_work()
{
	local cur prev words cword i
	_init_completion -s || return

	# After "--" or the first non-option word, complete the command.
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		--)
			_command_offset $((i + 1))
			return
			;;
		-c|-f|-h|-i|-j|-p|-t|--count|--framing|--function|--host|\
		--id|--jobs|--pidfile|--port|--probe|--timeout|--ssl-ca-file|\
		--ssl-certificate|--ssl-key)
			((i++))
			;;
		--*=*|-*)
			;;
		*)
			_command_offset "$i"
			return
			;;
		esac
	done

	case $prev in
	-f|--function)
		COMPREPLY=($(compgen -W "$(_gm_work_functions)" -- "$cur"))
		return
		;;
	--framing)
		COMPREPLY=($(compgen -W 'line nul length' -- "$cur"))
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
	-c|-j|-p|-t|--count|--id|--jobs|--port|--probe|--timeout)
		return
		;;
	esac

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W '-0 -C -c -f -H -h -i -j -N -n -p -S -t
		    -V -v -x -- --coprocess --count= --exceptions --framing=
		    --function= --help --host= --id --jobs= --lines --null
		    --pidfile= --port= --probe= --ssl --ssl-ca-file= --ssl-certificate=
		    --ssl-key= --ssl-no-verify --stream --timeout= --verbose
		    --version' -- "$cur"))
		[[ ${COMPREPLY-} == *= ]] && compopt -o nospace
		return
	fi
	_command_offset "$cword"
}
complete -F _gm_work gm-work
