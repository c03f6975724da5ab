"""Report: `aitop report daily --json` against ccusage 20 (Rust) `daily --json --offline`,
side by side on one generated corpus, in interleaved rounds: wall time (medians, each
round, the ratio), peak resident memory (the largest process of each command's tree, by
wait4; aitop's also on a corpus a fifth the size, to show it does not grow with the
bytes read), and the totals: Claude Code's must agree exactly, overall and per model; Codex's
are checked against the ground truth of its captures (each captured session's mock
logged every response it sent: tests/fixtures/codex/sessions/*/accounting.txt), which
ccusage 20 undercounts where a session has subagents.

The corpus: Claude Code transcripts in the line mix Claude Code writes (bench/corpus.py,
--mb in --files files, as bench/scan.py makes them) and Codex rollouts (--codex-mb):
copies of every captured Codex 0.171.0 session, each copy's thread, turn and response
ids made its own, and its times moved on by 7 minutes per copy (identical lines at the
same instant in two files are not two sessions: ccusage counts them once).

    python bench/report.py [--mb 500] [--files 10] [--codex-mb 30] [--rounds 5]

ccusage 20.0.24 is installed once with npm into ~/.cache/aitop-ccusage20 (bench/scan.py).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    ROOT,
    BenchError,
    add_time_limit,
    aitop_script,
    deadline,
    emit,
    fail,
    machine,
    median,
    run,
    time_limit,
)
from scan import CCUSAGE_VERSION, ccusage, make_corpus

CODEX_SESSIONS = ROOT / "tests" / "fixtures" / "codex" / "sessions"
TIMEOUT_S = 600
# every id in the captures (threads, turns, items) is a UUIDv7 of these first hex digits
_CAPTURE_IDS = re.compile(rb"01a22f(?=[0-9a-f]{2}-)")
_RESPONSE_ID = re.compile(rb'"resp_')
_TIMESTAMP = re.compile(rb'"timestamp":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)')
COPY_SHIFT_S = 420  # each copy's session runs this much later than the one before
OURS = {  # aitop's JSON field: ccusage's
    "input_tokens": "inputTokens",
    "output_tokens": "outputTokens",
    "cache_read_tokens": "cacheReadTokens",
    "cache_write_tokens": "cacheCreationTokens",
}
Totals = dict[str, int]


def make_codex_corpus(codex: Path, total_mb: int) -> tuple[int, int, Totals]:
    """Copies of every captured session's rollouts until `total_mb`; (bytes, copies, the
    mock's totals for all of them: input with cached, cached, output, total)."""
    sessions = sorted(p for p in CODEX_SESSIONS.iterdir() if (p / "accounting.txt").exists())
    if not sessions:
        fail(f"no Codex captures under {CODEX_SESSIONS}", "run the bench from a full clone")
    captured: list[tuple[str, bytes]] = []
    truth_per_copy = dict.fromkeys(("input", "cached", "output", "total"), 0)
    for session in sessions:
        for path in sorted((session / "codex-home" / "sessions").rglob("rollout-*.jsonl")):
            captured.append((path.name, path.read_bytes()))
        line = next(
            (x for x in (session / "accounting.txt").read_text().splitlines()
             if x.startswith("mock ground truth")),
            None,
        )  # fmt: skip
        if line is None:
            fail(f"{session}/accounting.txt has no mock ground truth line")
        numbers = [int(word) for word in line.split()[3:8]]
        for key, value in zip(("input", "cached", "output"), numbers[:3], strict=True):
            truth_per_copy[key] += value
        truth_per_copy["total"] += numbers[4]
    day = codex / "sessions" / "2026" / "12" / "01"
    day.mkdir(parents=True)
    size = copies = 0
    while size < total_mb * 1024 * 1024:
        prefix = b"%06x" % (0xC00000 + copies)  # never the captures' own 01a22f
        shift = datetime.timedelta(seconds=COPY_SHIFT_S * copies)

        def later(match: re.Match[bytes], shift: datetime.timedelta = shift) -> bytes:
            when = datetime.datetime.fromisoformat(match.group(1).decode()) + shift
            return b'"timestamp":"' + when.isoformat().encode()

        for name, data in captured:
            path = day / _CAPTURE_IDS.sub(prefix, name.encode()).decode()
            data = _RESPONSE_ID.sub(b'"resp_k%d_' % copies, _CAPTURE_IDS.sub(prefix, data))
            path.write_bytes(_TIMESTAMP.sub(later, data))
            size += path.stat().st_size
        copies += 1
    truth = {key: value * copies for key, value in truth_per_copy.items()}
    return size, copies, truth


def make_home(home: Path, mb: int, files: int, codex_mb: int) -> tuple[int, int, int, Totals]:
    """A home with both agents' logs; (Claude bytes, Codex bytes, copies, Codex truth)."""
    claude_size = make_corpus(home / ".claude", mb, files)
    codex_size, copies, truth = make_codex_corpus(home / ".codex", codex_mb)
    return claude_size, codex_size, copies, truth


def environment(home: Path, tmp: Path) -> dict[str, str]:
    """Nobody's own files: a home, config and cache of the corpus's own."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "CLAUDE_CONFIG_DIR": str(home / ".claude"),
        "CODEX_HOME": str(home / ".codex"),
        "XDG_CONFIG_HOME": str(tmp / "config"),
        "XDG_CACHE_HOME": str(tmp / "cache"),
        "TZ": "UTC",
        "LANG": "C.UTF-8",
    }


def timed(argv: list[str], env: dict[str, str], what: str) -> tuple[float, int, bytes]:
    """Wall seconds, the largest RSS (KiB) of the command's process tree, its stdout."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        with deadline(TIMEOUT_S, what):
            start = time.perf_counter()
            proc = subprocess.Popen(argv, env=env, stdout=out, stderr=err)
            _, status, usage = os.wait4(proc.pid, 0)
            elapsed = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        if proc.returncode:
            why = err.read().decode(errors="replace").strip().splitlines() or ["no output"]
            fail(f"{what} exited with status {proc.returncode}: {why[-1]}")
        out.seek(0)
        return elapsed, usage.ru_maxrss, out.read()


def _json(data: bytes, who: str) -> Any:
    try:
        return json.loads(data)
    except ValueError as exc:
        raise BenchError(f"{who}'s output is not JSON ({exc})") from None


def ccusage_models(report: Any) -> dict[str, Totals]:
    per_model: dict[str, Totals] = {}
    try:
        for day in report["daily"]:
            for row in day["modelBreakdowns"]:
                into = per_model.setdefault(row["modelName"], dict.fromkeys(OURS, 0))
                for ours, theirs in OURS.items():
                    into[ours] += row[theirs]
    except (KeyError, TypeError) as exc:
        raise BenchError(f"ccusage's JSON is not as expected ({exc!r})") from None
    return per_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=500, help="Claude Code transcripts")
    parser.add_argument("--files", type=int, default=10, help="Claude Code transcript files")
    parser.add_argument("--codex-mb", type=int, default=30, help="Codex rollouts")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved runs of each")
    add_time_limit(parser, 1800)
    args = parser.parse_args()
    if min(args.mb, args.files, args.rounds, args.codex_mb) < 1:
        parser.error("--mb, --files, --codex-mb and --rounds must be at least 1")
    with time_limit(args.time_limit):
        measure(args)


def measure(args: argparse.Namespace) -> None:
    machine()
    emit("cores", os.cpu_count() or 1)
    binary = ccusage()  # installed before anything is timed
    aitop = aitop_script()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        claude_size, codex_size, copies, truth = make_home(home, args.mb, args.files, args.codex_mb)
        emit(
            "corpus",
            f"{(claude_size + codex_size) / 1e6:.0f} MB: Claude Code {claude_size / 1e6:.0f} MB"
            f" in {args.files} transcripts, Codex {codex_size / 1e6:.0f} MB"
            f" ({copies} copies of the captured sessions)",
        )
        env = environment(home, Path(tmp))
        ours_argv = [aitop, "report", "daily", "--json"]
        theirs_argv = [binary, "daily", "--json", "--offline"]
        ours_name = "aitop report daily --json"
        theirs_name = f"ccusage@{CCUSAGE_VERSION} daily --json --offline"
        timed(ours_argv, env, ours_name)  # the files into the page cache; both start warm
        timed(theirs_argv, env, theirs_name)
        times: dict[str, list[float]] = {ours_name: [], theirs_name: []}
        peaks: dict[str, list[int]] = {ours_name: [], theirs_name: []}
        outputs: dict[str, bytes] = {}
        for _ in range(args.rounds):  # interleaved: the machine's noise hits both alike
            for name, argv in ((ours_name, ours_argv), (theirs_name, theirs_argv)):
                took, peak, outputs[name] = timed(argv, env, f"`{name}`")
                times[name].append(took)
                peaks[name].append(peak)
        # the same files, per agent and per model (untimed)
        _, _, by_agent = timed([aitop, "report", "agent", "--json"], env, "aitop report agent")
        _, _, by_model = timed([aitop, "report", "model", "--json"], env, "aitop report model")
    with tempfile.TemporaryDirectory() as tmp:  # a fifth of it, for aitop's memory alone
        small = Path(tmp) / "home"
        small_sizes = make_home(small, max(1, args.mb // 5), args.files, max(1, args.codex_mb // 5))
        small_env = environment(small, Path(tmp))
        timed(ours_argv, small_env, ours_name)
        small_peak = min(timed(ours_argv, small_env, ours_name)[1] for _ in range(3))
    emit("rounds", args.rounds)
    for name in times:
        emit(f"{name}, each round", " ".join(f"{v:.3f}" for v in times[name]), "s")
    ours_s, theirs_s = median(times[ours_name]), median(times[theirs_name])
    emit(f"{ours_name}, median", ours_s, "s")
    emit(f"{theirs_name}, median", theirs_s, "s")
    emit("ratio aitop / ccusage (time, medians)", ours_s / theirs_s)
    ratios = [a / b for a, b in zip(times[ours_name], times[theirs_name], strict=True)]
    emit("ratio aitop / ccusage, each round", " ".join(f"{r:.3f}" for r in ratios))
    emit("ratio aitop / ccusage, median of the rounds'", median(ratios))
    emit("aitop throughput", (claude_size + codex_size) / 1e6 / ours_s, "MB/s")
    for name in peaks:
        emit(f"{name}, peak RSS (largest process)", f"{max(peaks[name]) / 1024:.1f}", "MB")
    small_mb = (small_sizes[0] + small_sizes[1]) / 1e6
    big_peak = min(peaks[ours_name])
    emit(
        f"aitop peak RSS at {small_mb:.0f} MB / at {(claude_size + codex_size) / 1e6:.0f} MB",
        f"{small_peak / 1024:.1f} / {big_peak / 1024:.1f} MB (ratio {big_peak / small_peak:.2f})",
    )
    compare(outputs[ours_name], outputs[theirs_name], by_agent, by_model, truth)


def compare(
    ours_daily: bytes, theirs_daily: bytes, by_agent: bytes, by_model: bytes, truth: Totals
) -> None:
    ours = _json(ours_daily, "aitop")
    theirs = _json(theirs_daily, "ccusage")
    agents = {row["agent"]: row for row in _json(by_agent, "aitop")["rows"]}
    our_models = {
        row["model"]: {field: row[field] for field in OURS}
        for row in _json(by_model, "aitop")["rows"]
    }
    their_models = ccusage_models(theirs)
    emit("aitop requests counted", ours["totals"]["requests"])
    # Claude Code: equal to the token, overall and per model
    claude = {m: t for m, t in our_models.items() if m.startswith("claude")}
    their_claude = {m: t for m, t in their_models.items() if m.startswith("claude")}
    claude_totals = agents.get("claude-code", {})
    their_claude_totals = {f: sum(t[f] for t in their_claude.values()) for f in OURS}
    for field in OURS:
        emit(
            f"claude {field}: aitop / ccusage",
            f"{claude_totals.get(field, 0)} / {their_claude_totals[field]}",
        )
    claude_agree = all(claude_totals.get(f, 0) == their_claude_totals[f] for f in OURS)
    models_agree = claude == their_claude
    emit("claude totals agree exactly", "yes" if claude_agree else "NO")
    emit("claude per-model totals agree exactly", "yes" if models_agree else "NO")
    # Codex: against what the mock sent; aitop's input is without the cached tokens
    codex = {f: agents.get("codex", {}).get(f, 0) for f in OURS}
    their_codex = {f: sum(t[f] for m, t in their_models.items() if m not in their_claude)
                   for f in OURS}  # fmt: skip
    our_total = sum(codex.values())
    their_total = sum(their_codex.values())
    with_cached = codex["input_tokens"] + codex["cache_read_tokens"]
    emit("codex total tokens: mock truth / aitop / ccusage",
         f"{truth['total']} / {our_total} / {their_total}")  # fmt: skip
    emit("codex input with cached: mock truth / aitop", f"{truth['input']} / {with_cached}")
    output = (truth["output"], codex["output_tokens"], their_codex["output_tokens"])
    emit("codex output: mock truth / aitop / ccusage", " / ".join(map(str, output)))
    codex_exact = (
        our_total == truth["total"]
        and with_cached == truth["input"]
        and codex["output_tokens"] == truth["output"]
        and codex["cache_read_tokens"] == truth["cached"]
    )
    emit("codex: aitop equals the mock's totals", "yes" if codex_exact else "NO")
    emit("codex: ccusage / mock truth (total tokens)", their_total / truth["total"])
    if not (claude_agree and models_agree):
        fail("aitop and ccusage count different Claude Code tokens (see the lines above)")
    if not codex_exact:
        fail("aitop's Codex totals are not the mock's (see the lines above)")


if __name__ == "__main__":
    run(main)
