"""Scan: the first-sight read of a generated transcript corpus (500 MB by default, in the
line mix Claude Code writes), in MB/s; the same corpus through ccusage, the reference
token counter from npm, for its time (as it runs by default, files read in parallel,
and with --single-thread, like aitop); and the totals of both, overall and per model,
which must agree exactly. Costs are printed too, with the models ccusage cannot price.
Then the same for Codex: a rollout corpus (--codex-mb, in the line mix Codex 0.171.0
writes) read by aitop's Codex provider, in MB/s, with its requests counted exactly.

    python bench/scan.py [--mb 500] [--files 10] [--rounds 5] [--codex-mb 200]

ccusage 20.0.24 (Rust: a Node launcher and a native binary from its own npm package) is
installed once with npm into ~/.cache/aitop-ccusage20 and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from _common import (
    BenchError,
    add_time_limit,
    deadline,
    emit,
    fail,
    machine,
    median,
    run,
    time_limit,
)
from corpus import template_lines, write

from aitop.aggregate import Aggregator
from aitop.pricing import Pricer
from aitop.providers.claude_code.provider import ClaudeCode
from aitop.providers.codex.provider import Codex

CODEX_CAPTURE = (
    Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "codex" / "sessions"
    / "X1-tools-resume" / "codex-home" / "sessions"
)  # fmt: skip
_RESPONSE_ID = re.compile(rb'"(resp_)')

CCUSAGE_VERSION = "20.0.24"
# the native binary's package is named: npm may skip an optional dependency silently
PACKAGES = [f"ccusage@{CCUSAGE_VERSION}", f"@ccusage/ccusage-linux-x64@{CCUSAGE_VERSION}"]
CACHE = Path.home() / ".cache" / "aitop-ccusage20"
INSTALL_TIMEOUT_S = 300
CCUSAGE_TIMEOUT_S = 600
FIELDS = {
    "input_tokens": "inputTokens",
    "output_tokens": "outputTokens",
    "cache_read_tokens": "cacheReadTokens",
    "cache_write_tokens": "cacheCreationTokens",
}


def ccusage() -> str:
    """The cached ccusage, installed first if it is not there or not this version."""
    binary = CACHE / "node_modules" / ".bin" / "ccusage"
    if installed_version(binary) != CCUSAGE_VERSION:
        if shutil.which("npm") is None:
            fail("npm is needed to install ccusage", "install Node.js 20 or newer with npm")
        CACHE.mkdir(parents=True, exist_ok=True)
        argv = ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(CACHE), *PACKAGES]
        with deadline(INSTALL_TIMEOUT_S, "`npm install ccusage`", "check the npm registry"):
            result = subprocess.run(argv, capture_output=True, check=False)
        if result.returncode:
            lines = result.stderr.decode(errors="replace").strip().splitlines()
            why = [x for x in lines if "error" in x and "complete log" not in x] or ["no output"]
            fail(f"`{' '.join(argv)}` failed: {why[0]}", "check the npm registry, then retry")
        found = installed_version(binary)
        if found != CCUSAGE_VERSION:
            fail(
                f"ccusage in {CACHE} reports version {found!r}, not {CCUSAGE_VERSION}",
                f"remove {CACHE} and run again",
            )
    return str(binary)


def installed_version(binary: Path) -> str | None:
    if not binary.exists():
        return None
    with deadline(60, "`ccusage --version`"):
        result = subprocess.run([str(binary), "--version"], capture_output=True, check=False)
    words = result.stdout.decode(errors="replace").split()
    return words[-1] if result.returncode == 0 and words else None


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


Totals = dict[str, int]


def aitop_scan(claude: Path) -> tuple[float, Totals, dict[str, Totals], float]:
    """Seconds, totals, totals per model and cost (USD) of aitop's first-sight read."""
    now = time.time()
    start = time.perf_counter()
    provider = ClaudeCode(str(claude / "projects"))
    aggregator = Aggregator(Pricer.load(), now)
    provider.backfill(now)
    while provider.pending():
        aggregator.apply_all(provider.work(now, 4 << 20), now)
    snap = aggregator.snapshot(now)
    elapsed = time.perf_counter() - start
    # the models table totals everything read (the sessions, hours old, have left the table)
    per_model = {row.model: {field: getattr(row, field) for field in FIELDS} for row in snap.models}
    totals = {field: sum(row[field] for row in per_model.values()) for field in FIELDS}
    totals["requests"] = sum(row.requests for row in snap.models)
    return elapsed, totals, per_model, sum(row.cost_usd for row in snap.models)


def ccusage_scan(
    binary: str, claude: Path, *extra: str
) -> tuple[float, Totals, dict[str, Totals], float, list[str]]:
    """Seconds, totals, totals per model, cost (USD) and the models it could not price, of
    `ccusage claude daily --json --offline`: the Claude Code report, prices it ships with."""
    # its home is the corpus's too: it must find no other agent's logs, nor the user's
    env = os.environ | {"CLAUDE_CONFIG_DIR": str(claude), "HOME": str(claude.parent)}
    argv = [binary, "claude", "daily", "--json", "--offline", *extra]
    with deadline(CCUSAGE_TIMEOUT_S, f"`ccusage {' '.join(argv[1:])}`"):
        start = time.perf_counter()
        result = subprocess.run(argv, env=env, capture_output=True, check=False)
        elapsed = time.perf_counter() - start
    if result.returncode:
        why = result.stderr.decode(errors="replace").strip().splitlines() or ["no output"]
        fail(f"ccusage exited with status {result.returncode}: {why[-1]}")
    try:
        report = json.loads(result.stdout)
        totals = {field: report["totals"][theirs] for field, theirs in FIELDS.items()}
        per_model: dict[str, Totals] = {}
        for day in report["daily"]:
            for row in day["modelBreakdowns"]:
                into = per_model.setdefault(row["modelName"], dict.fromkeys(FIELDS, 0))
                for field, theirs in FIELDS.items():
                    into[field] += row[theirs]
        cost = float(report["totals"]["totalCost"])
        unpriced = list(report["totals"].get("unpricedModels", []))
    except (ValueError, KeyError, TypeError) as exc:
        raise BenchError(f"ccusage's JSON is not as expected ({exc!r})") from None
    return elapsed, totals, per_model, cost, unpriced


def make_codex_corpus(home: Path, total_mb: int, files: int) -> tuple[int, int]:
    """Rollouts of `total_mb` in `files` files, each the captured X1 session again and
    again, its response ids made unique per copy; (bytes, responses written)."""
    (capture,) = sorted(CODEX_CAPTURE.rglob("rollout-*.jsonl"))
    block = capture.read_bytes()
    per_copy = block.count(b'"type":"token_usage_record"')
    day = home / "sessions" / "2026" / "12" / "01"
    day.mkdir(parents=True)
    size = responses = 0
    for i in range(files):
        path = day / f"rollout-2026-12-01T00-00-00-00000000-0000-7000-8000-{i:012d}.jsonl"
        with path.open("wb") as out:
            k = 0
            while out.tell() < total_mb * 1024 * 1024 // files:
                out.write(_RESPONSE_ID.sub(b'"\\1f%dk%d_' % (i, k), block))
                k += 1
        size += path.stat().st_size
        responses += k * per_copy
    return size, responses


def codex_scan(home: Path) -> tuple[float, int]:
    """Seconds, and requests counted, of the Codex provider's first-sight read."""
    now = time.time()
    start = time.perf_counter()
    provider = Codex(str(home))
    aggregator = Aggregator(Pricer.load(), now)
    provider.backfill(now)
    while provider.pending():
        aggregator.apply_all(provider.work(now, 4 << 20), now)
    snap = aggregator.snapshot(now)
    return time.perf_counter() - start, sum(row.requests for row in snap.models)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=500)
    parser.add_argument("--codex-mb", type=int, default=200)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved runs of each")
    add_time_limit(parser, 1800)
    args = parser.parse_args()
    if min(args.mb, args.files, args.rounds, args.codex_mb) < 1:
        parser.error("--mb, --files, --rounds and --codex-mb must be at least 1")
    with time_limit(args.time_limit):
        measure(args)


def measure(args: argparse.Namespace) -> None:
    machine()
    binary = ccusage()  # installed before anything is timed
    name = f"ccusage@{CCUSAGE_VERSION} claude daily --json --offline"
    times: dict[str, list[float]] = {"aitop": [], name: [], f"{name} --single-thread": []}
    with tempfile.TemporaryDirectory() as tmp:
        claude = Path(tmp) / ".claude"
        size = make_corpus(claude, args.mb, args.files)
        emit("corpus", f"{size / 1e6:.0f} MB in {args.files} transcripts")
        for _ in range(args.rounds):  # interleaved: the machine's noise hits all three alike
            ours, our_totals, our_models, our_cost = aitop_scan(claude)
            theirs, their_totals, their_models, their_cost, unpriced = ccusage_scan(binary, claude)
            single, single_totals, single_models, _, _ = ccusage_scan(
                binary, claude, "--single-thread"
            )
            for key, took in zip(times, (ours, theirs, single), strict=True):
                times[key].append(took)
            agree = all(our_totals[f] == their_totals[f] == single_totals[f] for f in FIELDS)
            models_agree = our_models == their_models == single_models
            if not (agree and models_agree):
                break  # say so below, with this round's figures
    emit("rounds", len(times["aitop"]))
    for key, values in times.items():
        emit(f"{key}, each round", " ".join(f"{v:.3f}" for v in values), "s")
    aitop_s = median(times["aitop"])
    emit("aitop first-sight read, median", aitop_s, "s")
    emit("aitop throughput", size / 1e6 / aitop_s, "MB/s")
    emit("aitop requests counted", our_totals["requests"])
    parallel_s, single_s = median(times[name]), median(times[f"{name} --single-thread"])
    emit(f"{name}, median", parallel_s, "s")
    emit(f"{name} --single-thread, median", single_s, "s")
    emit("ratio aitop / ccusage (time)", aitop_s / parallel_s)
    emit("ratio aitop / ccusage --single-thread (time)", aitop_s / single_s)
    for field in FIELDS:
        emit(f"{field}: aitop / ccusage", f"{our_totals[field]} / {their_totals[field]}")
    emit("aitop cost", f"{our_cost:.2f}", "USD")
    emit("ccusage cost", f"{their_cost:.2f}", "USD")
    emit("models ccusage cannot price", " ".join(sorted(unpriced)) or "none")
    emit("totals agree exactly", "yes" if agree else "NO")
    emit("per-model totals agree exactly", "yes" if models_agree else "NO")
    if not (agree and models_agree):
        fail("aitop and ccusage count different tokens (see the lines above)")
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / ".codex"
        size, responses = make_codex_corpus(home, args.codex_mb, args.files)
        emit("codex corpus", f"{size / 1e6:.0f} MB in {args.files} rollouts")
        rounds = [codex_scan(home) for _ in range(args.rounds)]
    codex_s = median([took for took, _ in rounds])
    emit("aitop codex first-sight read, median", codex_s, "s")
    emit("aitop codex throughput", size / 1e6 / codex_s, "MB/s")
    counted = {requests for _, requests in rounds}
    emit("codex responses written / counted", f"{responses} / {' '.join(map(str, counted))}")
    if counted != {responses}:
        fail("aitop counted another number of Codex responses than the corpus holds")


if __name__ == "__main__":
    run(main)
