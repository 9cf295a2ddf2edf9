"""The Chinese catalogue is complete and its committed compiled form (.mo) matches it (.po)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
ZH = ROOT / "api/console/translations/zh/LC_MESSAGES"
KEYWORDS = {"_": None, "gettext": None, "N_": None}
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]


def _catalogue(kind: str) -> dict[str, str]:
    with (ZH / f"messages.{kind}").open("rb") as file:
        catalog = read_mo(file) if kind == "mo" else read_po(file)
    return {str(m.id): str(m.string) for m in catalog if m.id}


def _in_sources() -> set[str]:
    found = set()
    for folder in (ROOT / "api/console", ROOT / "penalties"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            folder, METHODS, keywords=KEYWORDS
        ):
            if isinstance(message, str):
                found.add(message)
    return found


def test_every_message_in_the_sources_has_chinese() -> None:
    po = _catalogue("po")
    untranslated = sorted(m for m in _in_sources() if not po.get(m))
    assert untranslated == [], "run pybabel extract, then scripts/zh_messages.py (README)"


def test_the_committed_mo_file_is_the_compiled_po_file() -> None:
    assert _catalogue("mo") == _catalogue("po")
