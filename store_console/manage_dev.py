"""`python -m store_console.manage_dev <command> [...]`: a management command against the console that
`make run` runs, from another terminal: the same settings, database and keys in var/ (DEBUG on, the secret key
kept there), e.g. `create_api_key` or `add_webhook` for a register tried against the demo store.

Against a deployed console use `python manage.py` with the deployment's environment instead.
"""

from __future__ import annotations

import subprocess
import sys

from store_console.runner import MANAGE, _development_environment


def main(args: list[str]) -> int:
    _development_environment()
    return subprocess.run([*MANAGE, *args], check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
