"""The one sign-off grammar: the closing words of an email ("Best,", "Thanks!", "Stay bright,").

Slot parsing stops a past email's body at its sign-off, the personalization guardrail reads the
line under a sign-off as a person's name, and the slot checks refuse a candidate that signs off:

    is_signoff("Best regards,")                   # the line is closing words alone
    opens_signoff("Thanks again, and talk soon")  # the line starts with closing words
    ends_body("— Maya, Ledgerly")                 # closing words, a dashed signature or a P.S.

The brand's own sign-off (what generation appends) is the brand profile's (`profile`).
"""

from __future__ import annotations

import re

SIGNOFF_WORDS = ("best", "thanks", "thank you", "many thanks", "cheers", "regards", "warmly",
                 "sincerely", "kind regards", "best regards", "warm regards", "all the best",
                 "talk soon", "see you soon", r"stay \w+")
_WORDS = "|".join(sorted(SIGNOFF_WORDS, key=len, reverse=True))
_LINE = re.compile(rf"^\W*(?:{_WORDS})\W*$", re.IGNORECASE)
_OPENS = re.compile(rf"^\W*(?:{_WORDS})\b", re.IGNORECASE)
_END = re.compile(rf"^\W*(?:[—–-]\s*\S.*|p\.?\s?s\b.*|(?:{_WORDS})\W*)$", re.IGNORECASE)


def is_signoff(line: str) -> bool:
    """Whether a line is closing words alone ("Best,", "Thanks!", "Stay bright,")."""
    return bool(_LINE.match(line.strip()))


def opens_signoff(line: str) -> bool:
    """Whether a line starts with closing words ("Thanks for reading,", "Best, Priya")."""
    return bool(_OPENS.match(line))


def ends_body(line: str) -> bool:
    """Whether a paragraph starting with this line ends an email's own text: closing words, a
    signature after a dash ("— The Ledgerly team") or a P.S."""
    line = line.strip()
    return bool(_END.match(line)) and len(line.split()) <= 8
