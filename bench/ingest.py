"""Ingest: clients on raw sockets send hook frames as fast as they can; how many frames
per second the real monitor (`aitop -b`) receives, decodes and aggregates, with none
lost; and the same clients against a bare accept-read-discard server in Python, the
ceiling on this machine. Targets: ratio ≥ 0.5, and ≥ 5,000 frames/s.

Then the same monitor again with `--viewers` real `aitop -b --json` viewers attached to
it (each sent every snapshot, 50 a second at the monitor's `-d 0.02`, and reading them):
target ≥ 0.9 × the rate without viewers, each round's runs side by side, in turns first.
On a machine others use too, wall-clock rates swing from run to run; the monitor's own
CPU time per 1000 frames, with viewers and without, is the steadier figure of what
viewers cost it.

Each frame is a real PostToolUse payload (its own tool_use_id) behind an `AITOP/1`
envelope, naming a transcript that exists, as a live session's hooks do.

Every wait has a deadline, and a client, server thread or monitor that dies ends the run
at once with one `bench: error:` line and exit status 1.

    python bench/ingest.py [--clients 2] [--frames 10000] [--rounds 5] [--viewers 4]
                           [--time-limit 900]
"""

from __future__ import annotations

import _socket
import argparse
import errno
import json
import multiprocessing
import multiprocessing.synchronize
import os
import selectors
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from _common import (
    ROOT,
    add_time_limit,
    aitop_script,
    emit,
    fail,
    last_line,
    machine,
    median,
    run,
    stop,
    time_limit,
    wait_until,
)

from aitop.server import ACCEPTS_PER_WAKE, BACKLOG, MAX_CONNECTIONS, RECV_SIZE

TEMPLATE = json.loads(
    (ROOT / "tests/fixtures/claude-code/hook-payloads/PostToolUse-Bash.json").read_text()
)
CLIENT_TIMEOUT_S = 30  # one connect or send; a blocking connect waits while the backlog is full
START_TIMEOUT_S = 60  # the monitor's first snapshot
WARM_S = 3.0  # the monitor's uptime before the clients start, with viewers or without


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
    """A client process. Blocking sockets with a send timeout: connect then waits while the
    server's backlog is full, as long as CLIENT_TIMEOUT_S, instead of failing at once
    (a non-blocking connect to a full Unix socket backlog fails with EAGAIN)."""
    if not start.wait(CLIENT_TIMEOUT_S):
        sys.exit("bench client: never told to start")
    timeout = struct.pack("ll", CLIENT_TIMEOUT_S, 0)
    sent = 0
    try:
        for frame in batch:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeout)
                sock.connect(path)
                sock.sendall(frame)
                sock.shutdown(socket.SHUT_WR)
            finally:
                sock.close()
            sent += 1
    except OSError as exc:
        sys.exit(f"bench client: frame {sent + 1} of {len(batch)} to {path}: {exc}")


class Clients:
    """One process per batch, all released at once; gone when the round is over."""

    def __init__(self, path: str, batches: list[list[bytes]]) -> None:
        self.start = multiprocessing.Event()
        self.workers = [
            multiprocessing.Process(
                target=send_all, args=(path, batch, self.start), daemon=True, name=f"client-{i}"
            )
            for i, batch in enumerate(batches)
        ]
        for worker in self.workers:
            worker.start()

    def finished(self) -> bool:
        return all(worker.exitcode is not None for worker in self.workers)

    def check(self) -> None:
        for worker in self.workers:
            if worker.exitcode:  # its own line, on its stderr, says why
                fail(f"{worker.name} exited with status {worker.exitcode}")

    def close(self) -> None:
        for worker in self.workers:
            if worker.is_alive():
                worker.kill()
            worker.join(timeout=10)


def run_clients(
    path: str,
    batches: list[list[bytes]],
    received: Callable[[], int],
    check: Callable[[], None],
    what: str,
) -> float:
    """Seconds from the start signal until every client has exited and `received()`
    counts every frame; `check()` raises if the server side has died."""
    total = sum(len(batch) for batch in batches)
    timeout = 60 + total / 500  # ten times slower than the 5,000/s target, plus start-up
    clients = Clients(path, batches)
    try:
        began = time.perf_counter()
        clients.start.set()

        def both() -> None:
            clients.check()
            check()

        wait_until(
            lambda: clients.finished() and received() >= total,
            timeout,
            f"{what} to receive {total} frames (it has {received()})",
            check=both,
        )
        clients.check()
        return time.perf_counter() - began
    finally:
        clients.close()


class Latest:
    """The monitor's newest snapshot, read on a thread as the lines come."""

    def __init__(self, monitor: subprocess.Popen[str]) -> None:
        self.snapshot: dict[str, Any] = {"ingest": {"frames": 0}}
        self.first = threading.Event()
        self.error: BaseException | None = None
        assert monitor.stdout is not None
        self._lines = monitor.stdout
        self._thread = threading.Thread(target=self._read, daemon=True, name="monitor-reader")
        self._thread.start()

    def _read(self) -> None:
        try:
            for line in self._lines:
                self.snapshot = json.loads(line)
                self.first.set()
        except BaseException as exc:  # told to the main thread by check()
            self.error = exc

    def check(self) -> None:
        if self.error is not None:
            fail(f"reading the monitor's snapshots failed: {self.error!r}")

    def received(self) -> int:
        ingest = self.snapshot["ingest"]
        return sum(v for k, v in ingest.items() if k == "frames" or k.startswith("rejected"))


class BareServer:
    """The ceiling: accept, read to EOF, discard, count. One thread, one selector.

    It treats connections as the monitor's server does (aitop/server.py), less the peer
    check and the decoding: the same backlog, at most ACCEPTS_PER_WAKE accepts per wake-up,
    each connection read as soon as it is accepted and closed at EOF, at most
    MAX_CONNECTIONS open (the oldest dropped, and counted), and when accept fails for want
    of descriptors the rest wait in the backlog. Its thread's error reaches the main
    thread through check()."""

    def __init__(self, path: str) -> None:
        self.count = 0
        self.dropped = 0
        self.error: BaseException | None = None
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(BACKLOG)
        self.listener.setblocking(False)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ, None)
        self.open: OrderedDict[int, _socket.socket] = OrderedDict()  # oldest first
        self.running = True
        self.thread = threading.Thread(target=self._loop, daemon=True, name="bare-server")
        self.thread.start()

    def received(self) -> int:
        return self.count + self.dropped

    def check(self) -> None:
        if self.error is not None:
            fail(f"the bare server's thread failed: {self.error!r}")
        if not self.thread.is_alive() and self.running:
            fail("the bare server's thread ended early")

    def _loop(self) -> None:
        try:
            while self.running:
                for key, _ in self.selector.select(0.1):
                    if key.data is None:
                        self._accept()
                    else:
                        self._readable(key.fileobj, key.data)  # type: ignore[arg-type]
        except BaseException as exc:  # told to the main thread by check()
            self.error = exc

    def _accept(self) -> None:
        accept = self.listener._accept  # type: ignore[attr-defined]
        for _ in range(ACCEPTS_PER_WAKE):
            try:
                fd, _addr = accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE):
                    return  # out of descriptors: the pending ones wait in the backlog
                raise
            conn = _socket.socket(fileno=fd)
            buffer = bytearray()
            if self._read(conn, buffer):  # the client writes right after connecting
                conn.close()
                self.count += 1
                continue
            if len(self.open) >= MAX_CONNECTIONS:
                self._close(next(iter(self.open.values())))
                self.dropped += 1
            self.open[conn.fileno()] = conn
            self.selector.register(conn, selectors.EVENT_READ, buffer)

    def _read(self, conn: _socket.socket, buffer: bytearray) -> bool:
        """Read what is there; True at EOF (or a broken connection)."""
        while True:
            try:
                chunk = conn.recv(RECV_SIZE, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return False
            except OSError:
                return True
            if not chunk:
                return True
            buffer += chunk

    def _readable(self, conn: _socket.socket, buffer: bytearray) -> None:
        if self._read(conn, buffer):
            self._close(conn)
            self.count += 1

    def _close(self, conn: _socket.socket) -> None:
        self.open.pop(conn.fileno(), None)
        self.selector.unregister(conn)
        conn.close()

    def close(self) -> None:
        self.running = False
        self.thread.join(timeout=10)
        for conn in list(self.open.values()):
            self._close(conn)
        self.selector.close()
        self.listener.close()
        if self.thread.is_alive():
            fail("the bare server's thread did not stop within 10 s")


def bare_round(path: str, batches: list[list[bytes]]) -> float:
    bare = BareServer(path)
    try:
        elapsed = run_clients(path, batches, bare.received, bare.check, "the bare server")
        if bare.dropped:
            fail(f"the bare server dropped {bare.dropped} connections over {MAX_CONNECTIONS}")
        return elapsed
    finally:
        bare.close()
        os.unlink(path)


class Viewer:
    """A real `aitop -b --json` attached to the monitor, its output read and dropped on a
    thread (as a consumer would read it); `ready` once its first line is out, that is once
    it has started up and shows frames."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [aitop_script(), "-b", "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.ready = threading.Event()
        self.lines = 0
        threading.Thread(target=self._read, daemon=True, name="viewer-reader").start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for _line in self.process.stdout:
            self.lines += 1
            self.ready.set()


def attach_viewers(
    count: int, env: dict[str, str], latest: Latest, alive: Callable[[], None]
) -> list[Viewer]:
    """`count` viewers, attached (the monitor counts them) and started up."""
    viewers = [Viewer(env) for _ in range(count)]

    def all_alive() -> None:
        alive()
        for viewer in viewers:
            if viewer.process.poll() is not None:
                fail(f"a viewer exited with status {viewer.process.returncode}")

    wait_until(
        lambda: (
            latest.snapshot["ingest"].get("viewers", 0) == count
            and all(v.ready.is_set() for v in viewers)
        ),
        START_TIMEOUT_S,
        f"{count} viewers to attach and start",
        all_alive,
    )
    return viewers


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Round(NamedTuple):
    elapsed: float  # seconds for every frame to be received
    cpu: float  # the monitor's CPU seconds meanwhile
    snapshot: dict[str, Any]  # its last


def aitop_round(
    sock: Path, home: Path, batches: list[list[bytes]], stderr_path: Path, viewers: int = 0
) -> Round:
    env = {"HOME": str(home), "PATH": os.environ["PATH"], "AITOP_SOCKET": str(sock)}
    with stderr_path.open("w") as stderr:
        monitor = subprocess.Popen(
            [aitop_script(), "-b", "--json", "-d", "0.02", "--no-backfill"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        latest = Latest(monitor)  # read its output all the time: a full pipe would stall it

        def alive() -> None:
            latest.check()
            if monitor.poll() is not None:
                fail(
                    f"the monitor exited with status {monitor.returncode}: {last_line(stderr_path)}"
                )

        # the first snapshot comes once it listens
        wait_until(latest.first.is_set, START_TIMEOUT_S, "the monitor's first snapshot", alive)
        attached = attach_viewers(viewers, env, latest, alive) if viewers else []
        # the same start for both kinds of round: the monitor up for WARM_S, whatever
        # attaching viewers took (a monitor still starting up would weigh on one kind only)
        wait_until(
            lambda: latest.snapshot.get("uptime_s", 0) >= WARM_S,
            START_TIMEOUT_S,
            "the monitor to warm up",
            alive,
        )
        try:
            cpu = cpu_seconds(monitor.pid)
            elapsed = run_clients(str(sock), batches, latest.received, alive, "the monitor")
            cpu = cpu_seconds(monitor.pid) - cpu
            ingest = latest.snapshot["ingest"]
            if ingest.get("viewers", 0) != viewers or ingest.get("viewers_dropped"):
                fail(f"the viewers did not stay attached all along: {ingest}")
            if total_of(batches) - ingest["frames"] or any(
                v for k, v in ingest.items() if k.startswith("rejected")
            ):
                fail(f"the monitor lost or rejected frames: {ingest}")
            return Round(elapsed, cpu, latest.snapshot)
        finally:
            for viewer in attached:
                stop(viewer.process)
    finally:
        stop(monitor)


def total_of(batches: list[list[bytes]]) -> int:
    return sum(len(batch) for batch in batches)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--frames", type=int, default=10_000, help="per client and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--viewers", type=int, default=4, help="viewers attached (0: none)")
    add_time_limit(parser, 900)
    args = parser.parse_args()
    if min(args.clients, args.frames, args.rounds) < 1 or args.viewers < 0:
        parser.error("--clients, --frames and --rounds must be at least 1, --viewers 0 or more")
    with time_limit(args.time_limit):
        measure(args)


def measure(args: argparse.Namespace) -> None:
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

        aitop_rates, bare_rates, viewed_rates = [], [], []
        cpu_plain, cpu_viewed = [], []
        sock, stderr = run_dir / "aitop.sock", Path(tmp) / "monitor.stderr"
        for round_ in range(args.rounds):
            batches = [
                frames(c + 100 * round_, args.frames, str(transcript)) for c in range(args.clients)
            ]
            bare_rates.append(total / bare_round(str(run_dir / "bare.sock"), batches))
            # with and without viewers side by side, in turns first, so drift in the
            # machine's load weighs on both alike
            order = [0, args.viewers] if round_ % 2 == 0 else [args.viewers, 0]
            runs = {
                n: aitop_round(sock, home, batches, stderr, viewers=n) for n in dict.fromkeys(order)
            }
            plain = runs[0]
            aitop_rates.append(total / plain.elapsed)
            cpu_plain.append(plain.cpu)
            emit(f"round {round_ + 1}: frames received / sent", f"{total} / {total}")
            emit(
                f"round {round_ + 1}: tool calls counted",
                plain.snapshot["since_start"]["tool_calls"],
            )
            emit(
                f"round {round_ + 1}: aitop / bare frames/s",
                f"{aitop_rates[-1]:.0f} / {bare_rates[-1]:.0f}"
                f" = {aitop_rates[-1] / bare_rates[-1]:.3f}",
            )
            if args.viewers:
                viewed = runs[args.viewers]
                viewed_rates.append(total / viewed.elapsed)
                cpu_viewed.append(viewed.cpu)
                emit(
                    f"round {round_ + 1}: with {args.viewers} viewers / without frames/s",
                    f"{viewed_rates[-1]:.0f} / {aitop_rates[-1]:.0f}"
                    f" = {viewed_rates[-1] / aitop_rates[-1]:.3f}",
                )
                emit(
                    f"round {round_ + 1}: monitor CPU ms per 1000 frames, with / without",
                    f"{1e6 * viewed.cpu / total:.1f} / {1e6 * plain.cpu / total:.1f}",
                )

    emit("clients", args.clients)
    emit("frames per round", total)
    emit("aitop monitor frames/s, median", median(aitop_rates))
    emit("bare accept-read-discard server frames/s, median", median(bare_rates))
    emit("ratio aitop / bare", median(aitop_rates) / median(bare_rates))
    # each round's two sides ran seconds apart: their ratio sees the least drift in load
    emit(
        "ratio aitop / bare, median of rounds",
        median([a / b for a, b in zip(aitop_rates, bare_rates, strict=True)]),
    )
    if args.viewers:
        emit(f"aitop monitor with {args.viewers} viewers frames/s, median", median(viewed_rates))
        emit(
            f"monitor CPU ms per 1000 frames with {args.viewers} viewers / without, medians",
            f"{1e6 * median(cpu_viewed) / total:.1f} / {1e6 * median(cpu_plain) / total:.1f}",
        )
        emit(
            f"ratio with {args.viewers} viewers / without, median of rounds",
            median([v / a for v, a in zip(viewed_rates, aitop_rates, strict=True)]),
        )
    emit("frames lost", 0)


if __name__ == "__main__":
    run(main)
