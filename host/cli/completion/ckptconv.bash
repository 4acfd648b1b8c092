# SPDX-License-Identifier: Apache-2.0
# bash completion for ckptconv: sub-commands, flags, --model names and formats, all asked of the
# ckptconv being completed (flags from `ckptconv CMD --complete-flags`, models from the plugins it
# finds with `ckptconv list --names`), so it never goes stale.

_ckptconv()
{
    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"
    local exe="${COMP_WORDS[0]}" cmd="" i=1 w
    local -a plugin_dirs=()
    # The sub-command is the first word that is not a flag or the value of a global flag.
    while [ "$i" -lt "$COMP_CWORD" ]; do
        w="${COMP_WORDS[i]}"
        case "$w" in
            --plugin-dir) plugin_dirs+=(--plugin-dir "${COMP_WORDS[i+1]}"); i=$((i + 2)); continue ;;
            --threads) i=$((i + 2)); continue ;;
            -*) ;;
            *) [ -z "$cmd" ] && cmd="$w" ;;
        esac
        i=$((i + 1))
    done

    local words=""
    case "$prev" in
        --model) words="$("$exe" list --names "${plugin_dirs[@]}" 2>/dev/null)" ;;
        --src-fmt|--tgt-fmt) words="$("$exe" __complete formats 2>/dev/null)" ;;
        --dtype) words="$("$exe" __complete dtypes 2>/dev/null)" ;;
        --format) words="safetensors pytorch mdl" ;;
        --plugin-dir|--output-dir) COMPREPLY=($(compgen -d -- "$cur")); return 0 ;;
        --threads|--hf-shard-size|--shard-size|--atol) COMPREPLY=(); return 0 ;;
        --config) COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
    esac
    if [ -n "$words" ]; then
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
        return 0
    fi
    if [ -z "$cmd" ]; then
        if [[ "$cur" == -* ]]; then
            words="$("$exe" __complete global-flags 2>/dev/null)"
        else
            words="$("$exe" __complete commands 2>/dev/null)"
        fi
    elif [ "$cmd" = help ]; then
        words="$("$exe" __complete commands 2>/dev/null)"
    elif [[ "$cur" == -* ]]; then
        words="$("$exe" "$cmd" --complete-flags 2>/dev/null)"
    else
        COMPREPLY=($(compgen -f -- "$cur"))
        return 0
    fi
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
    return 0
}
complete -o filenames -F _ckptconv ckptconv
