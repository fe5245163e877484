"""catalog.toml as text: where a key stands, how a value is shown, the file read safely."""

from __future__ import annotations

import codecs
import re
import unicodedata
from pathlib import Path
from typing import Any

from catalog.errors import ConfigError

# A catalog.toml is a few lines; anything this big is not one, and is not worth parsing.
MAX_CONFIG_BYTES = 1_000_000


def is_control(char: str) -> bool:
    """Control, format and line/paragraph separators: nothing a header or a URL may hold."""
    category = unicodedata.category(char)
    return category[0] == "C" or category in ("Zl", "Zp")


def _key_pattern(key: str, section: str | None) -> str:
    quoted = rf"(?:{re.escape(key)}|\"{re.escape(key)}\"|'{re.escape(key)}')"
    prefix = rf"(?:{re.escape(section)}\s*\.\s*)?" if section else ""
    return rf"^\s*\[?\s*{prefix}{quoted}\s*[\]=.]"


def line_of(text: str, key: str, section: str | None = None) -> int:
    """The line where ``key`` is set (within ``[section]`` when given); 1 when not found."""
    lines = text.splitlines()
    start = 0
    if section is not None:
        header = re.compile(rf"^\s*\[\s*{re.escape(section)}\s*\]")
        start = next((n for n, line in enumerate(lines) if header.match(line)), 0)
    pattern = re.compile(_key_pattern(key, section))
    for number in range(start, len(lines)):
        if pattern.match(lines[number]):
            return number + 1
    if section is not None:  # a dotted key at top level: crawl.timeout = 5
        return line_of(text, key)
    return 1


def offset_of_line(text: str, line: int) -> int:
    offset = 0
    for _ in range(line - 1):
        offset = text.find("\n", offset) + 1
        if offset == 0:
            return len(text)
    return offset


def find_value(text: str, value: str, start: int) -> int:
    """Offset of the string literal ``value`` at or after ``start``; -1 when not written plainly."""
    found = [text.find(f"{q}{value}{q}", start) for q in ('"', "'")]
    found = [f for f in found if f >= 0]
    return min(found) if found else -1


def shown(value: object) -> str:
    """A value as the user wrote it in TOML, cut short so an error stays one readable line."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and value.bit_length() > 64:
        return f"<an integer of {value.bit_length()} bits>"
    shown = repr(value) if isinstance(value, str) else str(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def read(path: Path) -> tuple[str, Any]:
    """The file's text and parsed document; a UTF-8 BOM (Windows editors add one) is skipped."""
    if path.exists() and not path.is_file():  # a folder, or a FIFO that would block the read
        raise ConfigError(f"{path}: not a regular file")
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES:,} bytes; not a catalog.toml")
    bom = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
    try:
        text = raw[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = bom + exc.start  # counted in the file as saved, BOM included
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{raw[offset]:02x} at offset {offset})"
        ) from None
    # Imported here: read commands take the engine from catalog.toml with the standard
    # library's reader, and never pay for tomlkit (it keeps comments, for editing).
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    try:
        return text, tomlkit.parse(text)
    except TOMLKitError as exc:
        line = getattr(exc, "line", 1)
        message = str(exc).replace("Unexpected character: '\\x00'", "unexpected end of file")
        raise ConfigError(f"{path}:{line}: not valid TOML: {message}") from exc
    except (ValueError, RecursionError) as exc:  # tomlkit's own guards normally catch these
        raise ConfigError(f"{path}: not valid TOML: {type(exc).__name__}") from exc
