"""Exit codes and the one error format: `aitop: error: <what>; <what to do>`."""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1  # a check failed, another aitop is running, the monitor could not start
    USAGE = 2  # bad arguments, a bad config or settings file: nothing was done


class AitopError(Exception):
    """A problem the user can fix. Printed as one line, never as a traceback."""

    def __init__(self, what: str, todo: str = "", code: ExitCode = ExitCode.FAILURE) -> None:
        super().__init__(what)
        self.what = what
        self.todo = todo
        self.code = code

    def line(self) -> str:
        return f"aitop: error: {self.what}" + (f"; {self.todo}" if self.todo else "")
