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

    local common="--socket --claude-dir --codex-home --opencode-data --gemini-dir --config -h --help"
    local main_opts="--version -b --batch -n --iterations -d --delay --json --timeline --bell --no-backfill --standalone --metrics --metrics-network --metrics-sessions --print-config"
    local install_opts="--agent --write --dry-run --check --uninstall --settings --events --statusline"
    local hook_opts="--agent"
    local statusline_opts="--socket -h --help"
    local prices_opts="--update --json"
    local report_opts="--since --until --tz --week-start --agent --breakdown --json --csv --workers"
    local periods="daily weekly monthly session project model agent blocks"
    local weekdays="monday tuesday wednesday thursday friday saturday sunday"
    local events="SessionStart SessionEnd UserPromptSubmit PreToolUse PostToolUse PostToolUseFailure Stop StopFailure SubagentStart SubagentStop PreCompact PostCompact Notification PostModelSwitch"

    case $prev in
        --socket|--settings|--config)
            COMPREPLY=($(compgen -f -- "$cur"))
            return ;;
        --claude-dir|--codex-home|--opencode-data|--gemini-dir)
            COMPREPLY=($(compgen -d -- "$cur"))
            return ;;
        -n|--iterations|-d|--delay|--metrics|--since|--until|--workers)
            return ;;
        --agent)
            local agents="claude-code codex"  # the hook's; install has OpenCode's plugin too
            [[ " ${words[*]} " == *" install "* ]] && agents="claude-code codex opencode"
            COMPREPLY=($(compgen -W "$agents" -- "$cur"))
            return ;;
        --week-start)
            COMPREPLY=($(compgen -W "$weekdays" -- "$cur"))
            return ;;
        --tz)
            local zones=/usr/share/zoneinfo
            [[ -d $zones ]] && COMPREPLY=($(cd "$zones" && compgen -f -- "$cur"))
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
            hook|statusline|install|prices|report|version) command=${words[i]}; break ;;
        esac
    done

    case $command in
        install) COMPREPLY=($(compgen -W "$install_opts $common" -- "$cur")) ;;
        hook) COMPREPLY=($(compgen -W "$hook_opts $common" -- "$cur")) ;;
        statusline)
            # after `--` comes the user's own status line command
            for ((i = 1; i < cword; i++)); do [[ ${words[i]} == -- ]] && return; done
            COMPREPLY=($(compgen -W "$statusline_opts --" -- "$cur")) ;;
        prices) COMPREPLY=($(compgen -W "$prices_opts $common" -- "$cur")) ;;
        report)
            if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "$report_opts $common" -- "$cur"))
            else
                COMPREPLY=($(compgen -W "$periods" -- "$cur"))
            fi ;;
        version) COMPREPLY=($(compgen -W "$common" -- "$cur")) ;;
        *)
            if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "$main_opts $common" -- "$cur"))
            else
                COMPREPLY=($(compgen -W "hook statusline install prices report version" -- "$cur"))
            fi ;;
    esac
}
complete -F _aitop aitop
