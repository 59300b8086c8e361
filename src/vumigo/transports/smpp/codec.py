"""Text to SMS octets and back: GSM 03.38 (with its extension table), IA5, Latin-1 and UCS-2.

GSM text travels over SMPP unpacked, one septet per octet, so an octet count is a septet count.
Characters from the extension table ({ } [ ] ~ | ^ \\ € and form feed) take two septets: an
escape (0x1B) and the code. Splitting works on indivisible units (an escape pair, a UTF-16
surrogate pair) so no part ends half-way through a character.
"""

from __future__ import annotations

from typing import Final

GSM: Final = 0x00  # "SMSC default alphabet", which SMSCs take to be GSM 03.38
IA5: Final = 0x01
OCTET_UNSPECIFIED: Final = 0x02
LATIN1: Final = 0x03
BINARY: Final = 0x04
UCS2: Final = 0x08

_GSM_BASIC: Final = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
_ESCAPE: Final = 0x1B
_GSM_EXTENSION: Final = {
    "\f": 0x0A,
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}
_GSM_ENCODE: Final[dict[str, bytes]] = {
    **{ch: bytes([code]) for code, ch in enumerate(_GSM_BASIC) if code != _ESCAPE},
    **{ch: bytes([_ESCAPE, code]) for ch, code in _GSM_EXTENSION.items()},
}
_GSM_EXTENSION_DECODE: Final = {code: ch for ch, code in _GSM_EXTENSION.items()}

# Octets one SMS carries, and octets left per part once a 6-octet concatenation UDH is in front.
SMS_OCTETS: Final = 140
GSM_SINGLE: Final = 160
GSM_PART: Final = 153
OCTET_PART: Final = 134


class EncodingError(ValueError):
    """The text has a character the chosen alphabet cannot carry."""


def is_gsm(text: str) -> bool:
    return all(ch in _GSM_ENCODE for ch in text)


def gsm_encode(text: str) -> bytes:
    try:
        return b"".join([_GSM_ENCODE[ch] for ch in text])
    except KeyError as exc:
        raise EncodingError(f"{exc.args[0]!r} is not in the GSM 03.38 alphabet") from None


def gsm_decode(data: bytes) -> str:
    out: list[str] = []
    escaped = False
    for octet in data:
        code = octet & 0x7F
        if escaped:
            # 23.038: an escape before a code with no extension character shows the basic one.
            out.append(_GSM_EXTENSION_DECODE.get(code, _GSM_BASIC[code]))
            escaped = False
        elif code == _ESCAPE:
            escaped = True
        else:
            out.append(_GSM_BASIC[code])
    return "".join(out)


def alphabet(data_coding: int) -> str:
    """Which alphabet a data_coding names: gsm, ascii, latin1, ucs2 or binary."""
    if data_coding in (GSM, IA5, LATIN1, UCS2):
        return {GSM: "gsm", IA5: "ascii", LATIN1: "latin1", UCS2: "ucs2"}[data_coding]
    if data_coding & 0xF0 == 0xF0:  # message class group: bit 2 picks 8-bit data over GSM
        return "binary" if data_coding & 0x04 else "gsm"
    if data_coding & 0xC0 == 0x00 and data_coding >= 0x10:  # general group, alphabet in bits 2-3
        return {0x00: "gsm", 0x04: "binary", 0x08: "ucs2"}.get(data_coding & 0x0C, "binary")
    return "binary"


def encode_text(text: str, data_coding: int) -> bytes:
    kind = alphabet(data_coding)
    try:
        if kind == "gsm":
            return gsm_encode(text)
        if kind == "ascii":
            return text.encode("ascii")
        if kind == "ucs2":
            return text.encode("utf-16-be")
        return text.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise EncodingError(str(exc)) from None


def decode_text(data: bytes, data_coding: int) -> str:
    kind = alphabet(data_coding)
    if kind == "gsm":
        return gsm_decode(data)
    if kind == "ascii":
        return data.decode("ascii", errors="replace")
    if kind == "ucs2":
        return data.decode("utf-16-be", errors="replace")
    # Latin-1 maps every octet to a character, so binary content survives a round trip.
    return data.decode("latin-1")


def choose_data_coding(text: str, preferred: int = GSM) -> int:
    """The preferred alphabet if it can carry the text, otherwise UCS-2."""
    if preferred == GSM and is_gsm(text):
        return GSM
    if preferred == IA5 and text.isascii():
        return IA5
    if preferred == LATIN1:
        try:
            text.encode("latin-1")
        except UnicodeEncodeError:
            return UCS2
        return LATIN1
    return UCS2


def text_units(text: str, data_coding: int) -> list[bytes]:
    """The encoded text as a list of units no split may cut (one per character)."""
    kind = alphabet(data_coding)
    if kind == "gsm":
        try:
            return [_GSM_ENCODE[ch] for ch in text]
        except KeyError as exc:
            raise EncodingError(f"{exc.args[0]!r} is not in the GSM 03.38 alphabet") from None
    # Python str iterates by code point, so an astral character stays one 4-octet UCS-2 unit.
    return [encode_text(ch, data_coding) for ch in text]


def single_limit(data_coding: int) -> int:
    """Octets (septets for GSM) one SMS without a UDH can carry."""
    return GSM_SINGLE if alphabet(data_coding) == "gsm" else SMS_OCTETS


def part_limit(data_coding: int) -> int:
    """Octets (septets for GSM) one part can carry after a 6-octet concatenation UDH."""
    return GSM_PART if alphabet(data_coding) == "gsm" else OCTET_PART


def chunk_units(units: list[bytes], limit: int) -> list[bytes]:
    """Greedily pack units into chunks of at most ``limit`` octets."""
    chunks: list[bytes] = []
    current: list[bytes] = []
    size = 0
    for unit in units:
        if size + len(unit) > limit and current:
            chunks.append(b"".join(current))
            current, size = [], 0
        current.append(unit)
        size += len(unit)
    if current or not chunks:
        chunks.append(b"".join(current))
    return chunks
