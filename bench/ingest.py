"""Ingest: clients on raw sockets send hook frames as fast as they can; how many frames
per second the real monitor (`aitop -b`) receives, decodes and aggregates, with none
lost; and the same clients against a bare accept-read-discard server in Python, the
ceiling on this machine. Targets: ratio ≥ 0.5, and ≥ 5,000 frames/s.

Each frame is a real PostToolUse payload (its own tool_use_id) behind an `AITOP/1`
envelope, naming a transcript that exists, as a live session's hooks do.

    python bench/ingest.py [--clients 2] [--frames 10000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import selectors
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from _common import ROOT, aitop_script, emit, machine, median

TEMPLATE = json.loads(
    (ROOT / "tests/fixtures/claude-code/hook-payloads/PostToolUse-Bash.json").read_text()
)


def frames(client: int, count: int, transcript: str) -> list[bytes]:
    out = []
    for i in range(count):
        payload = TEMPLATE | {
            "tool_use_id": f"toolu_bench_{client}_{i}",
            "transcript_path": transcript,
        }
        out.append(b'AITOP/1 {"agent":"claude-code","pid":1}\n' + json.dumps(payload).encode())
    return out


def send_all(path: str, batch: list[bytes], start: multiprocessing.synchronize.Event) -> None:
    start.wait()
    for frame in batch:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(path)
        sock.sendall(frame)
        sock.shutdown(socket.SHUT_WR)
        sock.close()


def run_clients(path: str, batches: list[list[bytes]], done: callable) -> float:  # type: ignore[valid-type]
    start = multiprocessing.Event()
    workers = [
        multiprocessing.Process(target=send_all, args=(path, batch, start)) for batch in batches
    ]
    for worker in workers:
        worker.start()
    began = time.perf_counter()
    start.set()
    for worker in workers:
        worker.join()
    done()
    return time.perf_counter() - began


class Latest:
    """The monitor's newest snapshot, read on a thread as the lines come."""

    def __init__(self, monitor: subprocess.Popen[str]) -> None:
        self.snapshot: dict = {"ingest": {"frames": 0}}
        self.first = threading.Event()
        assert monitor.stdout is not None
        self._lines = monitor.stdout
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for line in self._lines:
            self.snapshot = json.loads(line)
            self.first.set()

    def received(self) -> int:
        ingest = self.snapshot["ingest"]
        return sum(v for k, v in ingest.items() if k == "frames" or k.startswith("rejected"))


class BareServer:
    """The ceiling: accept, read to EOF, discard, count. One thread, one selector."""

    def __init__(self, path: str) -> None:
        self.count = 0
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(4096)
        self.sock.setblocking(False)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.sock, selectors.EVENT_READ, None)
        self.running = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while self.running:
            for key, _ in self.selector.select(0.1):
                if key.data is None:
                    while True:
                        try:
                            conn, _ = self.sock.accept()
                        except BlockingIOError:
                            break
                        conn.setblocking(False)
                        self.selector.register(conn, selectors.EVENT_READ, bytearray())
                else:
                    conn = key.fileobj
                    try:
                        chunk = conn.recv(65536)  # type: ignore[union-attr]
                    except BlockingIOError:
                        continue
                    if chunk:
                        key.data.extend(chunk)
                    else:
                        self.selector.unregister(conn)
                        conn.close()  # type: ignore[union-attr]
                        self.count += 1

    def close(self) -> None:
        self.running = False
        self.thread.join()
        self.sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--frames", type=int, default=10_000, help="per client and round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    machine()
    total = args.clients * args.frames
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        project = home / ".claude" / "projects" / "-home-user-project"
        project.mkdir(parents=True)
        home.chmod(0o700)
        transcript = project / "11111111-2222-4333-8444-555555555555.jsonl"
        f1 = ROOT / "tests/fixtures/claude-code/sessions/F1-print-tools-subagent/claude-projects"
        transcript.write_bytes(next(f1.glob("*/*.jsonl")).read_bytes())
        run_dir = Path(tmp) / "run"
        run_dir.mkdir(mode=0o700)

        aitop_rates, bare_rates = [], []
        for round_ in range(args.rounds):
            batches = [
                frames(c + 100 * round_, args.frames, str(transcript)) for c in range(args.clients)
            ]

            bare_path = str(run_dir / "bare.sock")
            bare = BareServer(bare_path)

            def bare_done(bare: BareServer = bare) -> None:
                while bare.count < total:
                    time.sleep(0.001)

            bare_rates.append(total / run_clients(bare_path, batches, bare_done))
            bare.close()
            os.unlink(bare_path)

            sock = run_dir / "aitop.sock"
            env = {"HOME": str(home), "PATH": os.environ["PATH"], "AITOP_SOCKET": str(sock)}
            monitor = subprocess.Popen(
                [aitop_script(), "-b", "--json", "-d", "0.02", "--no-backfill"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            latest = Latest(monitor)  # read its output all the time: a full pipe would stall it
            latest.first.wait(timeout=60)  # the first snapshot comes once it listens

            def aitop_done(latest: Latest = latest) -> None:
                while latest.received() < total:
                    time.sleep(0.001)

            aitop_rates.append(total / run_clients(str(sock), batches, aitop_done))
            snapshot = latest.snapshot
            monitor.terminate()
            monitor.wait(timeout=10)
            ingest = snapshot["ingest"]
            lost = total - ingest["frames"]
            emit(f"round {round_ + 1}: frames received / sent", f"{ingest['frames']} / {total}")
            emit(f"round {round_ + 1}: tool calls counted", snapshot["since_start"]["tool_calls"])
            if lost or any(v for k, v in ingest.items() if k.startswith("rejected")):
                raise SystemExit(f"bench: lost or rejected frames: {ingest}")

    emit("clients", args.clients)
    emit("frames per round", total)
    emit("aitop monitor frames/s, median", median(aitop_rates))
    emit("bare accept-read-discard server frames/s, median", median(bare_rates))
    emit("ratio aitop / bare", median(aitop_rates) / median(bare_rates))
    emit("frames lost", 0)


if __name__ == "__main__":
    main()
