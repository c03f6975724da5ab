"""Reading the agents' logs on every core, merged exactly.

The files are split into shards, each read in a process of its own by the same readers,
each with its own dedup (`dedup.Linked`, which also records which files shared a
request). One process reading every file (one shard) counts a request once, in
the first file of the canonical order that holds it; a shard counts it once within
itself. The two can differ only for a request that two shards saw.

So a shard returns its cells per *group* of files (files joined by a shared request),
with a 64-bit digest of each request key the group holds. The parent finds the digests
that more than one shard returned; a group holding none of them is counted as it is (no
other shard saw any of its requests, so one process would have counted them the same);
the files of every other group are read again, together, in the canonical order, in one
reading. That is exact: every file holding a request of a re-read group is itself in a
re-read group (a request seen by two shards marks its groups in both), so the re-reading
sees all of them. A digest collision only makes a re-read happen for nothing.

A group of files likely to repeat each other (a project's sessions: resumed and forked
ones copy lines) goes to one shard unless it is too large to keep the shards even, so
re-reads are rare; the property tests split groups at random to make them happen.

Workers are forked: they start at once, with the parent's readers, prices and zone.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import pickle
import resource
import signal
import sys
from array import array
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

from aitop.history import SLICE_BYTES, Cells, Entry, Reading, Tally, merge
from aitop.log import log
from aitop.providers.base import History
from aitop.providers.dedup import Dedup, Linked
from aitop.providers.tail import ZSTD_SUFFIX

SMALL_BYTES = 16 << 20  # less than this to read: one process is faster than forking
FILE_COST_BYTES = 16 << 10  # opening a file costs about as much as reading this much
ZSTD_RATIO = 8  # a compressed byte is about this many bytes to scan
SLACK = 0.05  # a whole group may make its shard this much heavier than an even share

Group = tuple[list[int], Cells, bytes]  # file indices, their cells, packed key digests


class ShardResult(NamedTuple):
    groups: list[Group]
    unreadable: list[tuple[str, str]]
    bytes_read: int
    max_rss_kb: int


class Outcome(NamedTuple):
    cells: Cells
    unreadable: list[tuple[str, str]]
    bytes_read: int
    processes: int
    reread_files: int  # files read a second time because two shards shared a request
    max_rss_kb: int  # the largest process's peak resident memory


def workers() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def plan(files: Sequence[Entry], shards: int) -> list[list[int]]:
    """Indices of `files` per shard, each in the canonical order, of even weight. Each
    agent's files are shared out evenly on their own (a byte of one agent's logs does not
    cost what a byte of another's does: other markers, other lines), to the shards that
    are lightest overall first: whole groups, largest first, where they fit in a shard's
    share of that agent's bytes; the files of the others one by one, largest first."""
    weights = [_file_weight(file.size, file.path) for _, file in files]
    by_agent: dict[str, dict[str, list[int]]] = {}
    for index, (agent, file) in enumerate(files):
        by_agent.setdefault(agent, {}).setdefault(file.group, []).append(index)
    totals = [0] * shards
    out: list[list[int]] = [[] for _ in range(shards)]
    for groups in by_agent.values():
        _share_out(groups, weights, totals, out)
    return [sorted(shard) for shard in out if shard]


def _share_out(
    groups: dict[str, list[int]], weights: list[int], totals: list[int], out: list[list[int]]
) -> None:
    """One agent's groups of files into the shards (`totals`: their weights so far)."""
    shards = len(out)
    loads = [0] * shards  # this agent's, in each shard

    def put(shard: int, members: list[int], weight: int) -> None:
        loads[shard] += weight
        totals[shard] += weight
        out[shard].extend(members)

    def lightest() -> int:
        return min(range(shards), key=lambda k: (loads[k], totals[k]))

    share = sum(weights[i] for members in groups.values() for i in members) / shards
    loose: list[int] = []
    for members in sorted(
        groups.values(), key=lambda members: (-sum(weights[i] for i in members), members[0])
    ):
        weight = sum(weights[i] for i in members)
        shard = lightest()
        if loads[shard] + weight <= share * (1 + SLACK):
            put(shard, members, weight)
        else:
            loose.extend(members)
    for index in sorted(loose, key=lambda i: (-weights[i], i)):
        put(lightest(), [index], weights[index])


def _file_weight(size: int, path: str) -> int:
    return FILE_COST_BYTES + size * (ZSTD_RATIO if path.endswith(ZSTD_SUFFIX) else 1)


class Shards:
    """One report's reading: the sources, the files in canonical order, the tally."""

    def __init__(
        self, sources: Mapping[str, History], files: list[Entry], tally: Tally, now: float
    ) -> None:
        self.sources = sources
        self.files = files
        self.tally = tally
        self.now = now

    def read(
        self,
        processes: int,
        *,
        shards: list[list[int]] | None = None,
        fork: bool = True,
    ) -> Outcome:
        """The cells of every file, read by `processes` processes (or along `shards`, for
        the tests; `fork=False` reads the shards one after another in this process)."""
        # A reading makes no reference cycles worth collecting, and ends: the collector's
        # passes over the dedup's keys cost it a sixth of its time for nothing.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._read(processes, shards, fork)
        finally:
            if collecting:
                gc.enable()

    def _read(self, processes: int, shards: list[list[int]] | None, fork: bool) -> Outcome:
        files = self.files
        if shards is None:
            total = sum(_file_weight(f.size, f.path) for _, f in files)
            count = processes if total >= SMALL_BYTES else 1
            shards = plan(files, count)
        if len(shards) <= 1:
            result = self.read_shard(shards[0] if shards else [], link=False)
            cells: Cells = {}
            for _, group_cells, _ in result.groups:
                merge(cells, group_cells)
            return Outcome(cells, result.unreadable, result.bytes_read, 1, 0, result.max_rss_kb)
        results = self._run(shards, fork)
        return self._merge(results, len(shards) if fork else 1)

    # --- one shard ------------------------------------------------------------------

    def read_shard(self, indices: list[int], *, link: bool = True) -> ShardResult:
        """Read these files (in their order) with one dedup per agent; their cells per
        group of files that shared a request, with the digests of the groups' keys."""
        entries = [self.files[i] for i in indices]
        reading = Reading(self.sources, entries, (lambda _agent: Linked()) if link else _unlinked)
        per_file: dict[int, Cells] = {}
        now = self.now
        while not reading.done():
            for position, events in reading.work(now, SLICE_BYTES):
                cells = per_file.get(position)
                if cells is None:
                    cells = per_file[position] = {}
                self.tally.add(cells, events)
        if not link:
            everything: Cells = {}
            for cells in per_file.values():
                merge(everything, cells)
            groups: list[Group] = [(list(indices), everything, b"")]
            return ShardResult(groups, reading.unreadable(), reading.bytes_read, _max_rss_kb())
        return ShardResult(
            self._groups(indices, entries, per_file, reading.dedups),
            reading.unreadable(),
            reading.bytes_read,
            _max_rss_kb(),
        )

    @staticmethod
    def _groups(
        indices: list[int],
        entries: list[Entry],
        per_file: dict[int, Cells],
        dedups: Mapping[str, Dedup],
    ) -> list[Group]:
        members: dict[tuple[str, str], list[int]] = {}
        for position, (agent, file) in enumerate(entries):
            dedup = dedups.get(agent)
            root = dedup.group(file.path) if isinstance(dedup, Linked) else file.path
            members.setdefault((agent, root), []).append(position)
        digests: dict[tuple[str, str], array[int]] = {}
        for agent, dedup in dedups.items():
            if isinstance(dedup, Linked):
                for root, digest in dedup.digests(agent):
                    found = digests.get((agent, root))
                    if found is None:
                        found = digests[agent, root] = array("Q")
                    found.append(digest)
        groups: list[Group] = []
        for key, positions in members.items():
            cells: Cells = {}
            for position in positions:
                merge(cells, per_file.get(position, {}))
            packed = digests.get(key, array("Q")).tobytes()
            groups.append(([indices[p] for p in positions], cells, packed))
        return groups

    # --- the processes --------------------------------------------------------------

    def _run(self, shards: list[list[int]], fork: bool) -> list[ShardResult]:
        if not fork:
            return [self.read_shard(shard) for shard in shards]
        children: list[tuple[int, int, list[int]]] = []
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            for shard in shards[1:]:
                pid, fd = _fork(functools.partial(self.read_shard, shard))
                children.append((pid, fd, shard))
            results = [self.read_shard(shards[0])]  # this process reads one too
            for pid, fd, shard in children:
                result = _collect(pid, fd)
                if result is None:  # it died (killed, out of memory): read it here
                    result = self.read_shard(shard)
                results.append(result)
            children.clear()
            return results
        finally:
            for pid, fd, _ in children:  # interrupted: leave no reader behind
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
                with contextlib.suppress(OSError):
                    os.close(fd)
                with contextlib.suppress(OSError):
                    os.waitpid(pid, 0)

    def _merge(self, results: list[ShardResult], processes: int) -> Outcome:
        shard_digests: list[set[int]] = []
        group_digests: list[list[set[int]]] = []
        for result in results:
            sets = [set(array("Q", packed)) for _, _, packed in result.groups]
            group_digests.append(sets)
            shard_digests.append(set().union(*sets))
        seen: set[int] = set()
        shared: set[int] = set()
        for digests in shard_digests:
            shared |= seen & digests
            seen |= digests
        cells: Cells = {}
        again: list[int] = []
        for result, sets in zip(results, group_digests, strict=True):
            for (indices, group_cells, _), digests in zip(result.groups, sets, strict=True):
                if shared and not shared.isdisjoint(digests):
                    again.extend(indices)
                else:
                    merge(cells, group_cells)
        unreadable = [item for result in results for item in result.unreadable]
        bytes_read = sum(result.bytes_read for result in results)
        max_rss = max(result.max_rss_kb for result in results)
        if again:
            log.info("%d files read again: their requests were seen by two shards", len(again))
            redo = self.read_shard(sorted(again), link=False)
            for _, group_cells, _ in redo.groups:
                merge(cells, group_cells)
            unreadable.extend(item for item in redo.unreadable if item not in unreadable)
            max_rss = max(max_rss, redo.max_rss_kb)
        return Outcome(cells, unreadable, bytes_read, processes, len(again), max_rss)


def _unlinked(_agent: str) -> Dedup:
    return Dedup(limit=None)


def _max_rss_kb() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes there, KiB here


def _fork(work: Callable[[], ShardResult]) -> tuple[int, int]:
    """Run `work` in a forked child; (its pid, the pipe its pickled result comes on)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid:
        os.close(write_end)
        return pid, read_end
    # the child: never returns, never runs the parent's exit handlers or flushes its buffers
    code = 0
    try:
        os.close(read_end)
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C: the parent does the talking
        payload = pickle.dumps(("ok", work()), protocol=pickle.HIGHEST_PROTOCOL)
    except BaseException as exc:  # said to the parent, which reads the files itself
        code = 1
        payload = pickle.dumps(("error", f"{type(exc).__name__}: {exc}"))
    try:
        view = memoryview(payload)
        while view:
            view = view[os.write(write_end, view) :]
    finally:
        os._exit(code)


def _collect(pid: int, fd: int) -> ShardResult | None:
    """A child's result; None (logged) if it failed or died."""
    chunks = []
    try:
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    try:
        kind, value = pickle.loads(b"".join(chunks))
    except Exception:  # cut short: it was killed
        log.warning("a reading process ended (status %d); reading its files here", status)
        return None
    if kind != "ok":
        log.warning("a reading process failed (%s); reading its files here", value)
        return None
    result: ShardResult = value
    return result
