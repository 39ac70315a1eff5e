"""The one way to the recorded payloads of the channels' tests.

Each integration keeps what its provider sends beside its own tests
(`tests/integrations/<integration>/fixtures/`); tests and helpers name the source and the
file, never a path, so a fixture folder can move without a test noticing.
"""

from __future__ import annotations

from pathlib import Path

INTEGRATIONS = Path(__file__).resolve().parents[1] / "integrations"

# WhatsApp and Messenger both come through Meta, so their folders sit under meta's tests.
FIXTURE_FOLDERS = {
    "email": INTEGRATIONS / "email" / "fixtures",
    "messenger": INTEGRATIONS / "meta" / "fixtures" / "messenger",
    "telegram": INTEGRATIONS / "telegram" / "fixtures",
    "twilio": INTEGRATIONS / "twilio" / "fixtures",
    "whatsapp": INTEGRATIONS / "meta" / "fixtures" / "whatsapp",
}


def fixture_folder(source: str) -> Path:
    """The folder of `source`'s fixtures: email, messenger, telegram, twilio or whatsapp."""
    try:
        return FIXTURE_FOLDERS[source]
    except KeyError:
        raise KeyError(f"no fixtures for {source!r}; sources: {sorted(FIXTURE_FOLDERS)}") from None


def fixture_path(source: str, name: str) -> Path:
    return fixture_folder(source) / name


def load_fixture(source: str, name: str) -> bytes:
    """The fixture's bytes exactly as stored (as a provider would send them)."""
    return fixture_path(source, name).read_bytes()


def fixture_names(source: str, pattern: str = "*") -> set[str]:
    """The file names of `source`'s fixtures matching `pattern`, for every-fixture-has-a-test."""
    return {path.name for path in fixture_folder(source).glob(pattern)}
