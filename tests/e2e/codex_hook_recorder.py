"""The hook command the Codex rig registers for every event: `python codex_hook_recorder.py
OUTDIR`. It appends `{"seq", "ts", "payload", "env"}` to OUTDIR/hooks.jsonl and keeps the
exact stdin bytes in OUTDIR/hooks-raw/NNNN-<event>.json. Like a forwarding hook it prints
nothing and exits 0 (Codex feeds some hooks' stdout back to the model)."""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time


def main() -> None:
    out = sys.argv[1]
    raw = sys.stdin.buffer.read()
    try:
        payload = json.loads(raw)
        event = str(payload.get("hook_event_name", "unknown"))
    except ValueError:
        payload, event = None, "unparsed"
    secret = ("KEY", "TOKEN", "SECRET")
    env = {
        k: v
        for k, v in os.environ.items()
        if k.startswith("CODEX") and not any(s in k for s in secret)
    }
    os.makedirs(os.path.join(out, "hooks-raw"), exist_ok=True)
    with open(os.path.join(out, "hooks.jsonl"), "a+", encoding="utf-8") as log:
        fcntl.flock(log, fcntl.LOCK_EX)  # parallel tool calls fire hooks at once
        log.seek(0)
        seq = sum(1 for _ in log) + 1
        with open(os.path.join(out, "hooks-raw", f"{seq:04d}-{event}.json"), "wb") as copy:
            copy.write(raw)
        record = {"seq": seq, "ts": time.time(), "payload": payload, "env": env}
        log.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
