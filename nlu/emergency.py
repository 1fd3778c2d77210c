"""When does a parse earn the full danger answer?  One small pure function.

The classifier alone is not trusted at any confidence: out-of-domain words
("indeed", "checkin") land on ``emergency`` at 0.1-0.3 simply because it is the
biggest class, and a bot that cries wolf is one she stops trusting.  So:

* ``"sure"``  — the safety net's rules fired, or the classifier's top intent is
  ``emergency`` at or above the threshold: the full 113 answer;
* ``"check"`` — the classifier's top guess is ``emergency`` but below the
  threshold: ask one gentle "are you in danger now?" question with 113 in it
  and a one-tap way to the full answer;
* ``"none"``  — anything else.

The threshold was chosen with ``helpline nlu falsealarm`` (held-out sets plus
the out-of-domain corpus tests/nlu/data/out_of_domain.yml): every held-out
emergency stays ``sure`` at any threshold (the rules catch them all); on the
first out-of-domain corpus the false-alarm rate was 2.5 % at 0.7, 1.2 % at 0.8, 0.6 % at 0.9 and
0 % at 0.95.  0.9 keeps the classifier able to give the full answer on its own
to a phrasing the rules miss, under the 1 % false-alarm target.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nlu.result import EmergencyLevel

#: The classifier alone earns the full danger answer from this confidence up.
EMERGENCY_THRESHOLD: float = 0.9


def emergency_level(
    parse: Mapping[str, Any] | None, threshold: float = EMERGENCY_THRESHOLD
) -> EmergencyLevel:
    """``"sure"``, ``"check"`` or ``"none"`` for one Rasa-shaped parse result."""
    if not parse:
        return "none"
    if parse.get("safety_net"):
        return "sure"
    intent = parse.get("intent")
    if not isinstance(intent, Mapping) or intent.get("name") != "emergency":
        return "none"
    try:
        confidence = float(intent.get("confidence") or 0.0)
    except (TypeError, ValueError):
        return "check"
    return "sure" if confidence >= threshold else "check"
