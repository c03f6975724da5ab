# fish completion for aitop. Install: copy to ~/.config/fish/completions/aitop.fish

set -l commands hook statusline install prices report version
set -l events SessionStart SessionEnd UserPromptSubmit PreToolUse PostToolUse PostToolUseFailure Stop StopFailure SubagentStart SubagentStop PreCompact PostCompact Notification PostModelSwitch

complete -c aitop -f

# commands
complete -c aitop -n "not __fish_seen_subcommand_from $commands" -a hook -d 'Forward one hook event from stdin to the monitor'
complete -c aitop -n "not __fish_seen_subcommand_from $commands" -a statusline -d "Claude Code's status line: forward its input, print one line"
complete -c aitop -n "not __fish_seen_subcommand_from $commands" -a install -d "Add aitop's hooks to an agent (Claude Code, Codex), or check them"
complete -c aitop -n "not __fish_seen_subcommand_from $commands" -a prices -d 'Show the prices in use; --update fetches newer ones'
complete -c aitop -n "not __fish_seen_subcommand_from $commands" -a report -d 'What was spent, by day, week, month, session, project, model, agent or block'
complete -c aitop -n "not __fish_seen_subcommand_from $commands" -a version -d 'Print the version'

# options of every command
complete -c aitop -s h -l help -d 'Show help and exit'
complete -c aitop -l socket -r -F -d "The monitor's socket"
complete -c aitop -l claude-dir -r -a '(__fish_complete_directories)' -d "Claude Code's directory"
complete -c aitop -l codex-home -r -a '(__fish_complete_directories)' -d "Codex's directory"
complete -c aitop -l opencode-data -r -a '(__fish_complete_directories)' -d "OpenCode's data directory"
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
complete -c aitop -n $main -l standalone -d 'Run a monitor of its own, never attach to a running one'
complete -c aitop -n $main -l metrics -x -d 'Serve /metrics for Prometheus on [HOST:]PORT'
complete -c aitop -n $main -l metrics-network -d 'Allow --metrics on an address other than loopback'
complete -c aitop -n $main -l metrics-sessions -d 'Add per-session series to /metrics'
complete -c aitop -n $main -l print-config -d 'Print the effective configuration and exit'

# aitop install
set -l install "__fish_seen_subcommand_from install"
complete -c aitop -n $install -l agent -x -a 'claude-code codex' -d 'The agent (default claude-code)'
complete -c aitop -n $install -l write -d 'Write the settings file'
complete -c aitop -n $install -l dry-run -d 'Print the result without writing'
complete -c aitop -n $install -l check -d 'Check the hooks and the monitor'
complete -c aitop -n $install -l uninstall -d "Remove aitop's hooks"
complete -c aitop -n $install -l settings -r -F -d 'The settings file (OpenCode: its config directory)'
complete -c aitop -n $install -l agent -x -a 'claude-code opencode' -d 'The agent to wire aitop into'
complete -c aitop -n $install -l events -x -a "$events" -d 'Hook events to register'
complete -c aitop -n $install -l statusline -d "Manage Claude Code's status line instead of the hooks"

# aitop prices
set -l prices "__fish_seen_subcommand_from prices"
complete -c aitop -n $prices -l update -d "Fetch LiteLLM's price table (or URL's) as an overlay"
complete -c aitop -n $prices -l json -d 'Print one JSON object'

# aitop hook
complete -c aitop -n "__fish_seen_subcommand_from hook" -l agent -x -a 'claude-code codex gemini' -d 'The agent'

# aitop report
set -l report "__fish_seen_subcommand_from report"
complete -c aitop -n $report -a 'daily weekly monthly session project model agent blocks' -d 'Group by'
complete -c aitop -n $report -l since -x -d 'From this day (YYYY-MM-DD), inclusive'
complete -c aitop -n $report -l until -x -d 'To this day (YYYY-MM-DD), inclusive'
complete -c aitop -n $report -l tz -x -d 'The time zone days are counted in'
complete -c aitop -n $report -l week-start -x -a 'monday tuesday wednesday thursday friday saturday sunday' -d 'The first day of a week'
complete -c aitop -n $report -l agent -x -a 'claude-code codex' -d 'Only this agent'
complete -c aitop -n $report -l breakdown -d "Each row's spend per model"
complete -c aitop -n $report -l json -d 'One JSON document'
complete -c aitop -n $report -l csv -d 'CSV, one line per row'
complete -c aitop -n $report -l workers -x -d 'Processes reading the logs'
