"""Every catalogue of the agent app (locales/ and each area's folder under it) speaks every
language the app offers: the same keys, the same {placeholders}, and a real translation,
not the English text copied."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from string import Formatter

import pytest

from threadline.entrypoints.web._render import DEFAULT_LANGUAGE, LANGUAGES

LOCALES = Path(str(resources.files("threadline.entrypoints.web").joinpath("locales")))
FOLDERS = [LOCALES, *sorted(entry for entry in LOCALES.iterdir() if entry.is_dir())]

# Texts that are the same in every language: names of products and codes.
SAME_EVERYWHERE = frozenset({"SMS", "WhatsApp", "Messenger", "Telegram", "CRM", "—", "24/7"})
# Words a language happens to spell as English does.
SAME_AS_ENGLISH = {
    "pl": frozenset({"Status", "Agent", "Menu", "System"}),
    "uk": frozenset[str](),
}


def texts(folder: Path, language: str) -> dict[str, str]:
    loaded = json.loads(folder.joinpath(f"{language}.json").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return {str(key): str(value) for key, value in loaded.items()}


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in Formatter().parse(text) if field is not None}


def test_the_app_offers_ukrainian_and_every_area_has_a_folder() -> None:
    assert LANGUAGES == ("en", "pl", "uk")
    assert len(FOLDERS) >= 3  # the main catalogue and at least two areas'


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda folder: folder.name)
def test_each_catalogue_has_one_file_per_language_with_the_same_keys(folder: Path) -> None:
    assert sorted(entry.stem for entry in folder.glob("*.json")) == sorted(LANGUAGES)
    english = texts(folder, DEFAULT_LANGUAGE)
    assert english
    for language in LANGUAGES:
        translated = texts(folder, language)
        assert sorted(set(english) - set(translated)) == [], (language, "missing")
        assert sorted(set(translated) - set(english)) == [], (language, "not in English")
        assert [key for key, text in translated.items() if not text.strip()] == [], language


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda folder: folder.name)
def test_each_text_is_translated_and_keeps_its_placeholders(folder: Path) -> None:
    english = texts(folder, DEFAULT_LANGUAGE)
    for language in LANGUAGES:
        if language == DEFAULT_LANGUAGE:
            continue
        translated = texts(folder, language)
        allowed = SAME_EVERYWHERE | SAME_AS_ENGLISH[language]
        copied = [
            key
            for key, text in translated.items()
            if text == english.get(key) and text not in allowed
        ]
        assert copied == [], (language, "still English")
        changed = [
            key
            for key, text in translated.items()
            if key in english and placeholders(text) != placeholders(english[key])
        ]
        assert changed == [], (language, "placeholders differ")
