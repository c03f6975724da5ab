# bash completion for aitop                                   -*- shell-script -*-
# Install: source it from ~/.bashrc, or copy it to
# ~/.local/share/bash-completion/completions/aitop

_aitop() {
    local cur prev words cword
    if declare -F _init_completion >/dev/null; then
        _init_completion || return
    else
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD-1]}
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    fi

    local common="--socket --claude-dir --codex-home --gemini-dir --config -h --help"
    local main_opts="--version -b --batch -n --iterations -d --delay --json --timeline --bell --no-backfill --print-config"
    local install_opts="--agent --write --dry-run --check --uninstall --settings --events"
    local hook_opts="--agent"
    local prices_opts="--update --json"
    local events="SessionStart SessionEnd UserPromptSubmit PreToolUse PostToolUse PostToolUseFailure Stop StopFailure SubagentStart SubagentStop PreCompact PostCompact Notification PostModelSwitch"

    case $prev in
        --socket|--settings|--config)
            COMPREPLY=($(compgen -f -- "$cur"))
            return ;;
        --claude-dir|--codex-home|--gemini-dir)
            COMPREPLY=($(compgen -d -- "$cur"))
            return ;;
        --agent)
            COMPREPLY=($(compgen -W "claude-code codex" -- "$cur"))
            return ;;
        -n|--iterations|-d|--delay)
            return ;;
        --update)
            # an optional URL: LiteLLM's own table when none is given
            [[ $cur == http* ]] && return ;;
        --events)
            local prefix=${cur%,*} last=${cur##*,}
            [[ $cur == *,* ]] && prefix="$prefix," || prefix=""
            COMPREPLY=($(compgen -P "$prefix" -W "$events" -- "$last"))
            compopt -o nospace 2>/dev/null
            return ;;
    esac

    local command="" i
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            hook|install|prices|version) command=${words[i]}; break ;;
        esac
    done

    case $command in
        install) COMPREPLY=($(compgen -W "$install_opts $common" -- "$cur")) ;;
        hook) COMPREPLY=($(compgen -W "$hook_opts $common" -- "$cur")) ;;
        prices) COMPREPLY=($(compgen -W "$prices_opts $common" -- "$cur")) ;;
        version) COMPREPLY=($(compgen -W "$common" -- "$cur")) ;;
        *)
            if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "$main_opts $common" -- "$cur"))
            else
                COMPREPLY=($(compgen -W "hook install prices version" -- "$cur"))
            fi ;;
    esac
}
complete -F _aitop aitop
