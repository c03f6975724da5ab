"""Scan: the first-sight read of a generated transcript corpus (500 MB by default, in the
line mix Claude Code writes), in MB/s; the same corpus through ccusage, the reference
token counter from npm, for its time; and the totals of both, which must agree exactly.

    python bench/scan.py [--mb 500] [--files 10]

ccusage is installed with npm into ~/.cache/aitop-bench (18.0.11: the last release that
runs on Node 20 without a native binary).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from _common import emit, machine
from corpus import template_lines, write

from aitop.aggregate import Aggregator
from aitop.pricing import Pricer
from aitop.providers.claude_code.provider import ClaudeCode

CCUSAGE = "ccusage@18.0.11"
CACHE = Path.home() / ".cache" / "aitop-bench" / CCUSAGE
FIELDS = {
    "input_tokens": "inputTokens",
    "output_tokens": "outputTokens",
    "cache_read_tokens": "cacheReadTokens",
    "cache_write_tokens": "cacheCreationTokens",
}


def ccusage() -> str:
    binary = CACHE / "node_modules" / ".bin" / "ccusage"
    if not binary.exists():
        if shutil.which("npm") is None:
            raise SystemExit("bench: npm is needed to install ccusage")
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(CACHE), CCUSAGE],
            check=True,
            capture_output=True,
        )
    return str(binary)


def make_corpus(claude: Path, total_mb: int, files: int) -> int:
    lines = template_lines()
    size = 0
    for i in range(files):
        project = claude / "projects" / f"-home-user-project{i % 3}"
        project.mkdir(parents=True, exist_ok=True)
        path = project / f"00000000-0000-4000-8000-{i:012d}.jsonl"
        write(path, total_mb * 1024 * 1024 // files, lines, first_copy=i * 100_000)
        size += path.stat().st_size
    return size


def aitop_scan(claude: Path) -> tuple[float, dict[str, int]]:
    now = time.time()
    start = time.perf_counter()
    provider = ClaudeCode(str(claude / "projects"))
    aggregator = Aggregator(Pricer.load(), now)
    provider.discover(now)
    while provider.pending():
        aggregator.apply_all(provider.work(now, 4 << 20), now)
    snap = aggregator.snapshot(now)
    elapsed = time.perf_counter() - start
    # the models table totals everything read (the sessions, hours old, have left the table)
    totals = {field: sum(getattr(row, field) for row in snap.models) for field in FIELDS}
    totals["requests"] = sum(row.requests for row in snap.models)
    return elapsed, totals


def ccusage_scan(claude: Path) -> tuple[float, dict[str, int]]:
    binary = ccusage()
    env = os.environ | {"CLAUDE_CONFIG_DIR": str(claude)}
    start = time.perf_counter()
    result = subprocess.run(
        [binary, "daily", "--json", "--offline"],
        env=env,
        capture_output=True,
        timeout=3600,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if result.returncode:
        raise SystemExit(f"bench: ccusage failed: {result.stderr.decode()[-500:]}")
    totals = json.loads(result.stdout)["totals"]
    return elapsed, {field: totals[theirs] for field, theirs in FIELDS.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=500)
    parser.add_argument("--files", type=int, default=10)
    args = parser.parse_args()
    machine()
    with tempfile.TemporaryDirectory() as tmp:
        claude = Path(tmp) / ".claude"
        size = make_corpus(claude, args.mb, args.files)
        emit("corpus", f"{size / 1e6:.0f} MB in {args.files} transcripts")
        ours, our_totals = aitop_scan(claude)
        emit("aitop first-sight read", ours, "s")
        emit("aitop throughput", size / 1e6 / ours, "MB/s")
        emit("aitop requests counted", our_totals["requests"])
        theirs, their_totals = ccusage_scan(claude)
        emit(f"{CCUSAGE} daily --json --offline", theirs, "s")
        emit("ratio aitop / ccusage (time)", ours / theirs)
        for field in FIELDS:
            emit(f"{field}: aitop / ccusage", f"{our_totals[field]} / {their_totals[field]}")
        agree = all(our_totals[f] == their_totals[f] for f in FIELDS)
        emit("totals agree exactly", "yes" if agree else "NO")
        if not agree:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
