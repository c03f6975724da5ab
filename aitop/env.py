"""The process environment as one object, so tests can run `main(argv, env=...)`."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class Env:
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    # the `aitop` executable that is running: `aitop install` writes it into the hooks
    executable: str = field(default_factory=lambda: sys.argv[0])
    wall_clock: Callable[[], float] = time.time
    monotonic: Callable[[], float] = time.monotonic

    def error(self, line: str) -> None:
        print(line, file=self.stderr, flush=True)
