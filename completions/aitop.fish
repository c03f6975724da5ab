# fish completion for aitop. Install: copy to ~/.config/fish/completions/aitop.fish

set -l commands hook install prices version
set -l events SessionStart SessionEnd UserPromptSubmit PreToolUse PostToolUse PostToolUseFailure Stop StopFailure SubagentStart SubagentStop PreCompact PostCompact Notification PostModelSwitch

complete -c aitop -f

# commands
complete -c aitop -n "not __fish_seen_subcommand_from $commands" -a hook -d 'Forward one hook event from stdin to the monitor'
complete -c aitop -n "not __fish_seen_subcommand_from $commands" -a install -d "Add aitop's hooks to an agent (Claude Code, Codex), or check them"
complete -c aitop -n "not __fish_seen_subcommand_from $commands" -a prices -d 'Show the prices in use; --update fetches newer ones'
complete -c aitop -n "not __fish_seen_subcommand_from $commands" -a version -d 'Print the version'

# options of every command
complete -c aitop -s h -l help -d 'Show help and exit'
complete -c aitop -l socket -r -F -d "The monitor's socket"
complete -c aitop -l claude-dir -r -a '(__fish_complete_directories)' -d "Claude Code's directory"
complete -c aitop -l codex-home -r -a '(__fish_complete_directories)' -d "Codex's directory"
complete -c aitop -l gemini-dir -r -a '(__fish_complete_directories)' -d "Gemini CLI's directory"
complete -c aitop -l config -r -F -d 'Configuration file'

# the monitor
set -l main "not __fish_seen_subcommand_from $commands"
complete -c aitop -n $main -l version -d 'Show the version and exit'
complete -c aitop -n $main -s b -l batch -d 'Batch mode: plain frames on stdout, no screen'
complete -c aitop -n $main -s n -l iterations -x -d 'Stop after N frames'
complete -c aitop -n $main -s d -l delay -x -d 'Seconds between frames'
complete -c aitop -n $main -l json -d 'With -b: one JSON snapshot per line'
complete -c aitop -n $main -l timeline -d "With -b --json: each session's timeline too"
complete -c aitop -n $main -l bell -d 'Ring the bell and notify on a new alert'
complete -c aitop -n $main -l no-backfill -d 'Read transcripts only when a hook names them'
complete -c aitop -n $main -l print-config -d 'Print the effective configuration and exit'

# aitop install
set -l install "__fish_seen_subcommand_from install"
complete -c aitop -n $install -l agent -x -a 'claude-code codex' -d 'The agent (default claude-code)'
complete -c aitop -n $install -l write -d 'Write the settings file'
complete -c aitop -n $install -l dry-run -d 'Print the result without writing'
complete -c aitop -n $install -l check -d 'Check the hooks and the monitor'
complete -c aitop -n $install -l uninstall -d "Remove aitop's hooks"
complete -c aitop -n $install -l settings -r -F -d 'The settings file'
complete -c aitop -n $install -l events -x -a "$events" -d 'Hook events to register'

# aitop prices
set -l prices "__fish_seen_subcommand_from prices"
complete -c aitop -n $prices -l update -d "Fetch LiteLLM's price table (or URL's) as an overlay"
complete -c aitop -n $prices -l json -d 'Print one JSON object'

# aitop hook
complete -c aitop -n "__fish_seen_subcommand_from hook" -l agent -x -a 'claude-code codex gemini' -d 'The agent'
