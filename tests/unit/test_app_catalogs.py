"""The apps' French catalogs (``<app>/locale/fr/LC_MESSAGES/django.po``): every entry translated, none fuzzy,
the same ``{names}`` as the English, every plural form; and the sentences the console stores in English (causes,
messages, findings) and the receipts' words all have their French."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po
from django.utils import translation

from backoffice import sentences
from payments import causes
from payments.receipts.words import WORDS

ROOT = Path(__file__).resolve().parents[2]
APPS = ("payments", "checkout", "backoffice", "lanes", "live", "webhooks", "integrations")
# The same in both languages, and right so.
SAME_IN_FRENCH = {"TOTAL", "TERMINAL", "SIGNATURE", "Webhooks", "note", "{summary} ({call})",
                  "Send {\"amount\": 500, \"reason\": \"...\"}.",
                  # provinces and territories whose names French writes the same
                  "Alberta", "Manitoba", "Nunavut", "Ontario", "Saskatchewan", "Yukon"}
PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def catalog(app: str) -> Catalog:
    with (ROOT / app / "locale" / "fr" / "LC_MESSAGES" / "django.po").open("rb") as po:
        return read_po(po, locale="fr")


def problems(cat: Catalog) -> list[str]:
    found = []
    if cat.fuzzy:
        found.append("the catalog's header is fuzzy")
    for message in cat:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            found.append(f"fuzzy: {ids[0]!r}")
        if len(strings) < len(ids) or not all(strings):
            found.append(f"untranslated: {ids[0]!r}")
            continue
        for text in strings:
            if set(PLACEHOLDER.findall(text)) != set(PLACEHOLDER.findall(ids[-1])):
                found.append(f"not the same {{names}}: {ids[0]!r} -> {text!r}")
        if ids[0] not in SAME_IN_FRENCH and strings[0] == ids[0]:
            found.append(f"copied, not translated: {ids[0]!r}")
    return found


@pytest.mark.parametrize("app", APPS)
def test_every_entry_is_translated_and_none_is_fuzzy(app):
    assert not problems(catalog(app))


def test_the_check_finds_an_untranslated_a_fuzzy_and_a_broken_entry():
    cat = Catalog(locale="fr", fuzzy=False)
    cat.add("Approved", "Approuvé")
    cat.add("Needs review", "")
    cat.add("Refunded", "Remboursé", flags=["fuzzy"])
    cat.add("Sent to {name}", "Envoyé à {nom}")
    cat.add("Declined", "Declined")
    assert problems(cat) == ["untranslated: 'Needs review'", "fuzzy: 'Refunded'",
                             "not the same {names}: 'Sent to {name}' -> 'Envoyé à {nom}'",
                             "copied, not translated: 'Declined'"]


def _translated() -> dict[tuple[str | None, str], Message]:
    return {(m.context, m.id if isinstance(m.id, str) else m.id[0]): m for app in APPS for m in catalog(app) if m.id}


@pytest.mark.parametrize("template", [*causes.TEMPLATES, causes.CALL, causes.STEP, *sentences.TEMPLATES])
def test_every_stored_sentence_is_in_a_catalog(template):
    assert (None, template) in _translated()


@pytest.mark.parametrize("key", sorted(WORDS))
def test_every_receipt_word_is_in_the_catalog(key):
    with translation.override("en"):  # the source language: the word is its own msgid
        english = str(WORDS[key])
    assert ("receipt", english) in _translated()
