"""A stand-in `codex` for the install tests that need Codex to misbehave or to answer
without node: `codex app-server` speaking the JSON-RPC subset aitop uses (initialize,
hooks/list, config/batchWrite), on stdin/stdout, one object per line.

It keeps trust in `$CODEX_HOME/fake-trust.json` ({key: hash}), lists the command hooks of
`$CODEX_HOME/hooks.json` with a key and hash shaped like Codex's (position and content),
and logs every request to `$CODEX_HOME/fake-requests.jsonl`. `$FAKE_CODEX` picks a
misbehaviour: `exit` (fails at start with a message), `silent` (never answers),
`ignore-writes` (answers, but trusts nothing), `unreadable` (reports hooks.json unparsable).
The real Codex's behaviour is proven in tests/e2e/test_real_codex_install.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from typing import Any


def _snake(event: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", event).lower()


def _listing(home: str, trust: dict[str, str]) -> dict[str, Any]:
    path = os.path.join(os.path.realpath(home), "hooks.json")
    hooks: list[dict[str, Any]] = []
    try:
        with open(path, encoding="utf-8") as file:
            document = json.loads(file.read() or "{}")
    except (OSError, ValueError):
        document = {}
    for event, groups in document.get("hooks", {}).items():
        for g, group in enumerate(groups):
            for h, handler in enumerate(group.get("hooks", [])):
                if not isinstance(handler, dict) or handler.get("type") != "command":
                    continue
                key = f"{path}:{_snake(event)}:{g}:{h}"
                content = json.dumps([event, handler.get("command"), handler.get("timeout")])
                current = "sha256:" + hashlib.sha256(content.encode()).hexdigest()
                status = "untrusted"
                if key in trust:
                    status = "trusted" if trust[key] == current else "modified"
                hooks.append(
                    {
                        "key": key,
                        "eventName": event[:1].lower() + event[1:],
                        "handlerType": "command",
                        "command": handler.get("command"),
                        "sourcePath": path,
                        "source": "user",
                        "currentHash": current,
                        "trustStatus": status,
                        "enabled": True,
                    }
                )
    warnings = []
    if os.environ.get("FAKE_CODEX") == "unreadable":
        warnings.append(f"failed to parse hooks config {path}: unknown field `x` at line 1")
    return {"data": [{"cwd": home, "hooks": hooks, "errors": [], "warnings": warnings}]}


def main() -> int:
    mode = os.environ.get("FAKE_CODEX", "")
    if sys.argv[1:] != ["app-server"]:
        print("fake codex: only app-server", file=sys.stderr)
        return 2
    if mode == "exit":
        print("Error: config.toml: expected a table at line 3", file=sys.stderr)
        return 3
    home = os.environ["CODEX_HOME"]
    state = os.path.join(home, "fake-trust.json")
    for line in sys.stdin:
        request = json.loads(line)
        with open(os.path.join(home, "fake-requests.jsonl"), "a", encoding="utf-8") as log:
            log.write(json.dumps(request) + "\n")
        if mode == "silent":
            time.sleep(3600)
        if "id" not in request:
            continue
        trust: dict[str, str] = {}
        if os.path.exists(state):
            with open(state) as file:
                trust = json.load(file)
        method = request["method"]
        result: Any = {}
        if method == "hooks/list":
            result = _listing(home, trust)
        elif method == "config/batchWrite" and mode != "ignore-writes":
            for edit in request["params"]["edits"]:
                if edit["keyPath"] == "hooks.state":
                    trust.update({k: v["trusted_hash"] for k, v in edit["value"].items()})
                elif edit["value"] is None:
                    trust.pop(edit["keyPath"].removeprefix('hooks.state."')[:-1], None)
            with open(state, "w") as file:
                json.dump(trust, file)
        print(json.dumps({"id": request["id"], "result": result}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
