"""Compile the translation catalogs (`*.po` -> `*.mo`) with Babel: pure Python, no system gettext.

`make install` (and so `make run` and `make test`) and the image's build run `python -m store_console.translations`.
The `.po` files are the source, kept in the repository; the `.mo` files are built and not committed. A catalog
is compiled again only when its `.po` is newer than its `.mo`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

BASE_DIR = Path(__file__).resolve().parent.parent
_SKIP = {".venv", "var", "node_modules", ".git"}


def catalogs(root: Path = BASE_DIR) -> Iterator[Path]:
    """Every `<app or project>/locale/<language>/LC_MESSAGES/<domain>.po` of the project."""
    for po in sorted(root.glob("**/locale/*/LC_MESSAGES/*.po")):
        if not _SKIP.intersection(po.relative_to(root).parts):
            yield po


def compile_catalog(po: Path, *, force: bool = False) -> bool:
    """Write `po`'s `.mo` beside it; False when it was already up to date. Fuzzy entries are left out."""
    mo = po.with_suffix(".mo")
    if not force and mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        return False
    with po.open("rb") as source:
        catalog = read_po(source, locale=po.parent.parent.name)
    with mo.open("wb") as target:
        write_mo(target, catalog, use_fuzzy=False)
    return True


def main(argv: list[str]) -> int:
    force = "--force" in argv
    compiled = [po for po in catalogs() if compile_catalog(po, force=force)]
    for po in compiled:
        print(f"compiled {po.relative_to(BASE_DIR).with_suffix('.mo')}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
