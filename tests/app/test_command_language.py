"""Management commands answer in the shell's language (LC_ALL, else LC_MESSAGES, else LANG, the Unix way):
French when it starts with "fr", English otherwise; their output, their errors and their --help."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from lanes.commands import shell_language
from tests.factories import LaneFactory, StoreFactory, TerminalFactory

NB = "\u00a0"
LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")


@pytest.mark.parametrize(("environ", "language"), [
    ({"LANG": "fr_CA.UTF-8"}, "fr"),
    ({"LANG": "fr"}, "fr"),
    ({"LANG": "C.UTF-8"}, "en"),
    ({"LANG": "en_CA.UTF-8"}, "en"),
    ({}, "en"),
    ({"LANG": "en_CA.UTF-8", "LC_MESSAGES": "fr_CA.UTF-8"}, "fr"),
    ({"LANG": "fr_CA.UTF-8", "LC_MESSAGES": "C"}, "en"),
    ({"LANG": "en_CA.UTF-8", "LC_MESSAGES": "en_CA.UTF-8", "LC_ALL": "fr_CA.UTF-8"}, "fr"),
    ({"LANG": "fr_CA.UTF-8", "LC_ALL": "POSIX"}, "en"),
    ({"LANG": "fr_CA.UTF-8", "LC_ALL": ""}, "fr"),  # set but empty: the next one decides
])
def test_the_shell_language(environ, language):
    assert shell_language(environ) == language


@pytest.fixture
def shell(monkeypatch):
    def speak(value: str) -> None:
        for name in LOCALE_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("LANG", value)
    return speak


@pytest.fixture
def lane(db):
    return TerminalFactory(lane=LaneFactory(store=StoreFactory(name="Marché Saint-Roch"))).lane


def test_create_api_key_answers_in_french(shell, lane):
    shell("fr_CA.UTF-8")
    out = io.StringIO()
    call_command("create_api_key", "--store", lane.store.name, "--name", "Caisse 3", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("Clé d'API sck_")
    assert f"pour Marché Saint-Roch{NB}: portées payments:" in lines[0]
    assert lines[0].endswith("; débite toutes les caisses.")
    assert lines[1] == f"Le jeton suit, affiché cette seule fois (seule son empreinte est conservée){NB}:"
    assert lines[2].startswith("sck_")  # the token itself, alone on the last line


def test_the_same_command_in_english(shell, lane):
    shell("en_CA.UTF-8")
    out = io.StringIO()
    call_command("create_api_key", "--store", lane.store.name, "--name", "Lane 3", stdout=out)
    assert out.getvalue().splitlines()[1] == "The token follows, shown this once (only its digest is kept):"


def test_errors_are_in_the_shells_language_with_the_same_exit_code(shell, lane):
    shell("fr_CA.UTF-8")
    with pytest.raises(CommandError) as french:
        call_command("add_webhook", "--store", "Nulle part", "--url", "https://example.com/hook")
    assert str(french.value) == f'Aucun magasin ne s\'appelle «{NB}Nulle part{NB}» (magasins{NB}: "Marché Saint-Roch").'
    shell("C.UTF-8")
    with pytest.raises(CommandError) as english:
        call_command("add_webhook", "--store", "Nowhere", "--url", "https://example.com/hook")
    assert str(english.value) == 'No store is named "Nowhere" (stores: "Marché Saint-Roch").'
    assert french.value.returncode == english.value.returncode == 2


def test_setup_store_reports_its_changes_in_french(shell, db):
    shell("fr_CA.UTF-8")
    out = io.StringIO()
    call_command("setup_store", "--merchant-id", "100200", "--merchant-key", "clé-de-test", "--job-no", "caisse",
                 "--store-name", "Dépanneur Côté", "--lane", "D1=PAX-D1", stdout=out)
    assert out.getvalue().splitlines() == ["Marchand 100200 créé", "Magasin Dépanneur Côté créé", "Caisse D1 créée",
                                           "Terminal PAX-D1 créé pour la caisse D1"]
    again = io.StringIO()
    call_command("setup_store", "--merchant-id", "100200", "--merchant-key", "clé-de-test", "--job-no", "caisse",
                 "--store-name", "Dépanneur Côté", "--lane", "D1=PAX-D1", stdout=again)
    assert again.getvalue() == f"Rien à changer{NB}: le magasin est déjà configuré comme demandé.\n"


def test_rotation_counts_are_plural_in_french(shell, db):
    shell("fr_CA.UTF-8")
    out = io.StringIO()
    call_command("rotate_webhook_secrets", "--check", stdout=out)
    assert out.getvalue() == "0 secret de webhook non chiffré avec la première clé.\n"  # French: 0 is singular
