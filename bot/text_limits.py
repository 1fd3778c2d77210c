"""How long a text may be, in one place for every channel and for handoff.

- :data:`MAX_INCOMING_TEXT`: the longest text handed to the engine. A longer
  paste is cut, not refused: she may have pasted a whole story, and the first
  10 000 characters are far more than the NLU or a counsellor needs to start.
- :func:`split_text`: one way to cut an outgoing text into the pieces a
  platform accepts (Telegram 4096 UTF-16 units, Zalo 2000 characters, relayed
  words 3500), at a paragraph, a line, a sentence, then a space, so that every
  piece reads as whole sentences; only a text without any break is cut inside
  a word.
"""

from __future__ import annotations

from collections.abc import Callable

#: Longest text from a person handed to the engine (every channel).
MAX_INCOMING_TEXT = 10_000
#: Relayed words get a prefix (her alias, "the team:") before the platform's own
#: limit applies: pieces of 3500 leave room for it under Telegram's 4096.
RELAY_PIECE = 3500

#: Where a long text may be cut, best first. Each ends in whitespace, which is
#: dropped at the cut.
_BREAKS = ("\n\n", "\n", ". ", "! ", "? ", "… ", "; ", ", ", " ")

Measure = Callable[[str], int]


def cap_input(text: str) -> str:
    """Her text as the engine sees it: at most :data:`MAX_INCOMING_TEXT` characters."""
    return text[:MAX_INCOMING_TEXT]


def utf16_len(text: str) -> int:
    """Telegram counts message length in UTF-16 code units (emoji count twice)."""
    return len(text.encode("utf-16-le")) // 2


def _fit(text: str, limit: int, measure: Measure) -> int:
    """How many leading characters of ``text`` measure at most ``limit``."""
    if measure(text) <= limit:
        return len(text)
    if measure is len:
        return limit
    low, high = 0, len(text)  # the measure grows with the prefix: bisect
    while low < high:
        middle = (low + high + 1) // 2
        if measure(text[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    return low


def split_text(text: str, limit: int, *, measure: Measure = len) -> list[str]:
    """Pieces of ``text`` that each measure at most ``limit``, stripped; [] for
    a blank text. A break is used only past the first third of the room, so no
    piece is tiny."""
    rest = text.strip()
    pieces: list[str] = []
    while measure(rest) > limit:
        room = max(1, _fit(rest, limit, measure))
        window = rest[: room + 1]  # a break right after the room still counts
        cut = 0
        for mark in _BREAKS:
            found = window.rfind(mark)
            kept = found + len(mark.rstrip())  # what stays of the mark in the piece
            if found > room // 3 and kept <= room:
                cut = found + len(mark)
                break
        if cut == 0:
            cut = room
        head, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        if head:
            pieces.append(head)
    if rest:
        pieces.append(rest)
    return pieces


def relay_pieces(text: str) -> list[str]:
    """Relayed words in pieces of :data:`RELAY_PIECE`; a blank text is one empty piece."""
    return split_text(text, RELAY_PIECE) or [""]
