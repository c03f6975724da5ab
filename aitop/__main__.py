"""`python -m aitop`: the same dispatch as the installed `aitop` script."""

import sys


def _run() -> int:
    if sys.argv[1:2] == ["hook"]:
        from aitop.hook import main as hook_main

        return hook_main(sys.argv[2:])
    if sys.argv[1:2] == ["statusline"]:
        from aitop.statusline import main as statusline_main

        return statusline_main(sys.argv[2:])
    from aitop.cli import main

    return main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(_run())
