"""A pseudo-locale, built at test time, that shows which visible strings were never marked for translation.

Every msgid of the French catalogs (the project's, and Django's and the installed apps' own, which the pages use
too: the login form's labels, the admin's) gets a "translation" that is the msgid with every ASCII letter
replaced by an accented look-alike ("Approved" -> "Áþþŕöṽéď"), its placeholders (%(name)s, %s, {name}), HTML
tags and entities kept intact. A page rendered in that language shows no run of plain ASCII letters except
where a string did not go through the catalogs: an unmarked string, or data (names, references, card brands).

The language is ``en-xa``: Django accepts it as a language code (``language_code_re``) and, once it is in
``LANGUAGES``, as a supported variant (``check_for_language`` finds Django's own ``en`` catalog for it). Its
catalog lives in ``<dir>/en_XA/LC_MESSAGES/{django,djangojs}.mo``, a directory put first in ``LOCALE_PATHS``;
numbers and dates follow English (payments/formats.py reads "en-xa" as "en"). For the live console's processes,
tests/settings.py adds both when the environment names the directory (``TEST_PSEUDO_LOCALE_DIR``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from html.parser import HTMLParser
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

PSEUDO_LANGUAGE = "en-xa"
PSEUDO_LOCALE = "en_XA"
ENVIRONMENT = "TEST_PSEUDO_LOCALE_DIR"
DOMAINS = ("django", "djangojs")

_LOOK_ALIKES = str.maketrans(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "áƀçďéƒĝĥíĵķĺɱñöþǫŕšţüṽŵẋýžÁƁÇĎÉƑĜĤÍĴĶĹṀÑÖṔǪŔŠŢÜṼŴẊÝŽ",
)
# Kept as they are: printf and brace placeholders, %% and HTML tags and entities.
_PROTECTED = re.compile(r"%\([^)]*\)[-#0 +]*\d*(?:\.\d+)?[a-zA-Z]|%%|%[-#0 +]*\d*(?:\.\d+)?[a-zA-Z]|\{[^{}]*\}"
                        r"|<[^<>]*>|&#?\w+;")


def pseudo(text: str) -> str:
    """``"Approved %(amount)s"`` -> ``"Áþþŕöṽéď %(amount)s"``: no ASCII letter left outside placeholders."""
    out, last = [], 0
    for match in _PROTECTED.finditer(text):
        out += [text[last:match.start()].translate(_LOOK_ALIKES), match.group()]
        last = match.end()
    out.append(text[last:].translate(_LOOK_ALIKES))
    return "".join(out)


def french_catalogs(project: Iterable[Path], installed_locale_dirs: Iterable[str]) -> list[Path]:
    """The project's French ``.po`` files and those of Django and the installed apps (``all_locale_paths()``)."""
    found = {po.resolve() for po in project if po.parent.parent.name == "fr"}
    for directory in installed_locale_dirs:
        found.update(p.resolve() for p in Path(directory).glob("fr/LC_MESSAGES/*.po"))
    return sorted(found)


def build(target: Path, catalogs: Iterable[Path]) -> dict[str, int]:
    """Writes ``target/en_XA/LC_MESSAGES/<domain>.mo`` from every msgid of ``catalogs``; returns the count of
    messages per domain."""
    pseudo_catalogs = {domain: Catalog(locale=Locale("en"), domain=domain) for domain in DOMAINS}
    for po in catalogs:
        domain = po.stem
        if domain not in pseudo_catalogs:
            continue
        with po.open("rb") as source:
            french = read_po(source, locale=po.parent.parent.name)
        for message in french:
            if not message.id:
                continue
            string = tuple(pseudo(part) for part in message.id) if message.pluralizable else pseudo(message.id)
            pseudo_catalogs[domain].add(message.id, string, context=message.context)
    directory = target / PSEUDO_LOCALE / "LC_MESSAGES"
    directory.mkdir(parents=True, exist_ok=True)
    for domain, catalog in pseudo_catalogs.items():
        with (directory / f"{domain}.mo").open("wb") as out:
            write_mo(out, catalog)
    return {domain: len(catalog) for domain, catalog in pseudo_catalogs.items()}


# -------------------------------------------------------------------------------- what a person sees

_SKIPPED = {"script", "style", "template"}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_READ_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")
_BUTTON_INPUTS = {"submit", "button", "reset"}


class VisibleText(HTMLParser):
    """Text nodes outside script/style, the title, and the title, aria-label, placeholder and alt attributes
    and buttons' values. An element with its own ``lang`` (the language switch's "Français", a receipt in the
    cardholder's language) says its text is in that language on purpose: it is left out, children included."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.runs: list[str] = []
        self._stack: list[tuple[str, bool]] = []

    @property
    def _skipping(self) -> bool:
        return any(skip for _tag, skip in self._stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        skip = tag in _SKIPPED or ("lang" in values and tag != "html")
        if not self._skipping and not skip:
            self.runs += [values[name] for name in _READ_ATTRIBUTES if values.get(name)]
            if tag == "input" and values.get("type", "").lower() in _BUTTON_INPUTS and values.get("value"):
                self.runs.append(values["value"])
        if tag not in _VOID:
            self._stack.append((tag, skip))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._stack) - 1, -1, -1):
            if self._stack[index][0] == tag:
                del self._stack[index:]
                return

    def handle_data(self, data: str) -> None:
        if not self._skipping and data.strip():
            self.runs.append(data)


def visible_runs(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    parser.close()
    return parser.runs


_WORD = re.compile(r"[A-Za-z]{3,}")
_ENGLISH_CLDR = Locale("en")
# Names that are the same in every language (brands, EMV's tag names on receipts) and English CLDR data that
# the pseudo-locale's formats show (month and day names: payments/formats.py formats "en-xa" as English).
ALWAYS_ALLOWED = frozenset(
    {"Visa", "VISA", "Mastercard", "MASTERCARD", "Interac", "INTERAC", "Amex", "AMEX", "IOTPay", "IOTPAY", "PAX",
     "AID", "TVR", "TSI", "ARQC", "ARPC", "AAC", "CAD", "USD"}
    | {name for names in (_ENGLISH_CLDR.months["format"], _ENGLISH_CLDR.days["format"])
       for width in ("wide", "abbreviated") for name in names[width].values()}
)


def unmarked(runs: Iterable[str], data: Iterable[str]) -> list[str]:
    """The runs that still hold a plain English word once the page's data (``data``: names, codes, references
    the test put into it) is taken out, each once, whitespace collapsed."""
    known = sorted({d for d in data if d}, key=len, reverse=True)
    found: list[str] = []
    for run in runs:
        text = " ".join(run.split())
        rest = text
        for item in known:
            rest = rest.replace(item, " ")
        if any(word not in ALWAYS_ALLOWED for word in _WORD.findall(rest)) and text not in found:
            found.append(text)
    return found
