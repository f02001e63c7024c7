"""GSM 03.38 (GSM-7) text for single-part SMS: 160 septets, no character forcing UCS-2.

The basic table costs one septet a character; the extension table (``^{}\\[~]|€`` and form
feed) costs two. Any other character would switch the whole SMS to UCS-2 (70 chars), so
:func:`to_gsm7` transliterates or drops it.
"""

from __future__ import annotations

import unicodedata

SMS_SEPTETS = 160

BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
EXTENSION = "\f^{}\\[~]|€"
_BASIC_SET = frozenset(BASIC)
_EXT_SET = frozenset(EXTENSION)
_REPLACE = {
    "–": "-", "—": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "...",
    "°": "deg", "µ": "u", "×": "x", "\t": " ", "·": ".", "≥": ">=", "≤": "<=",
    "Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "ı": "i", "Œ": "OE", "œ": "oe", "þ": "th",
}


def is_gsm7(text: str) -> bool:
    """True when every character is in the GSM-7 basic or extension table."""
    return all(ch in _BASIC_SET or ch in _EXT_SET for ch in text)


def septets(text: str) -> int:
    """Length in GSM-7 septets (extension characters count two); ValueError if not GSM-7."""
    total = 0
    for ch in text:
        if ch in _BASIC_SET:
            total += 1
        elif ch in _EXT_SET:
            total += 2
        else:
            raise ValueError(f"character {ch!r} (U+{ord(ch):04X}) is not GSM-7")
    return total


def to_gsm7(text: str) -> str:
    """Transliterate ``text`` to the GSM-7 basic table (accents stripped, rest dropped)."""
    out: list[str] = []
    for ch in text:
        if ch in _BASIC_SET:
            out.append(ch)
            continue
        if ch in _REPLACE:
            out.append(_REPLACE[ch])
            continue
        decomposed = unicodedata.normalize("NFKD", ch)
        ascii_part = "".join(c for c in decomposed if c in _BASIC_SET and c.isascii())
        out.append(ascii_part if ascii_part else "?")
    return "".join(out)
