"""The catalogs are compiled in pure Python (Babel) by `make install`: no system gettext is needed."""

from __future__ import annotations

import gettext
import os
import shutil
import subprocess
import sys
from pathlib import Path

from store_console.translations import BASE_DIR, catalogs, compile_catalog

PO = """msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"
"Plural-Forms: nplurals=2; plural=(n > 1);\\n"

msgid "Approved"
msgstr "Approuvé"

#, fuzzy
msgid "Declined"
msgstr "Refusé"

msgid "%(count)s payment"
msgid_plural "%(count)s payments"
msgstr[0] "%(count)s paiement"
msgstr[1] "%(count)s paiements"
"""


def test_a_catalog_is_compiled_without_its_fuzzy_entries_and_only_when_it_changed(tmp_path):
    po = tmp_path / "fr" / "LC_MESSAGES" / "django.po"
    po.parent.mkdir(parents=True)
    po.write_text(PO, encoding="utf-8")
    assert compile_catalog(po) is True
    assert compile_catalog(po) is False  # up to date: not written again
    with po.with_suffix(".mo").open("rb") as mo:
        translations = gettext.GNUTranslations(mo)
    assert translations.gettext("Approved") == "Approuvé"
    assert translations.gettext("Declined") == "Declined"  # fuzzy: left out, the English shows
    assert translations.ngettext("%(count)s payment", "%(count)s payments", 2) == "%(count)s paiements"
    os.utime(po, (po.stat().st_mtime + 10, po.stat().st_mtime + 10))
    assert compile_catalog(po) is True  # the .po changed: compiled again


def test_every_catalog_of_the_project_is_found_and_the_command_needs_no_msgfmt(tmp_path):
    found = {str(po.relative_to(BASE_DIR)) for po in catalogs()}
    assert {"locale/fr/LC_MESSAGES/django.po", "locale/fr/LC_MESSAGES/djangojs.po",
            "payments/locale/fr/LC_MESSAGES/django.po"} <= found
    # With a PATH that has no gettext tools, the command still compiles (into a copy of the project's catalogs).
    copy = tmp_path / "project"
    for po in catalogs():
        target = copy / po.relative_to(BASE_DIR)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(po, target)
    script = ("import sys; from pathlib import Path; from store_console import translations as t; "
              "sys.exit(0 if all(t.compile_catalog(p, force=True) for p in t.catalogs(Path(sys.argv[1]))) else 1)")
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}
    assert shutil.which("msgfmt", path=env["PATH"]) is None
    subprocess.run([sys.executable, "-c", script, str(copy)], check=True, env=env, cwd=BASE_DIR)
    assert len(list(copy.glob("**/*.mo"))) == len(found)
