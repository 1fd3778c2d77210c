"""Quick replies from vetted content: a member inserts a rights, safety or
hotline text from ``responses/`` in her language instead of typing a phone
number from memory (``/tip`` on Telegram and Zalo, the insert menu in the
console). The texts are the flows' own, reviewed with their sources; the
buttons of a node are dropped (they would mean nothing in a relayed message).
"""

from __future__ import annotations

from dataclasses import dataclass

from handoff.context import HandoffContext


@dataclass(frozen=True, slots=True)
class Tip:
    node: str
    label: str


#: Short on purpose: what a member needs most often, in a fixed order so that
#: "/tip 2" means the same thing every day.
TIPS: tuple[Tip, ...] = (
    Tip("services", "Đường dây nóng / Hotlines"),
    Tip("emergency", "Khi nguy hiểm (113) / In danger (113)"),
    Tip("rights_no_contact", "Cấm tiếp xúc / Protection orders"),
    Tip("safety_before", "Kế hoạch an toàn / Safety plan"),
    Tip("rights_report", "Cách trình báo / How to report"),
    Tip("rights_legal_aid", "Trợ giúp pháp lý / Legal aid"),
)


def body(
    ctx: HandoffContext, tip: Tip, language: str, placeholders: dict[str, str] | None = None
) -> str:
    """The node's texts in her language, joined, with her team's contacts and
    hours where the text names them; empty if the flows lack the node."""
    messages = ctx.render(tip.node, language, placeholders)
    return "\n\n".join(m.text for m in messages if m.text.strip()).strip()


def menu(ctx: HandoffContext, language: str) -> list[tuple[int, str, str]]:
    """(number, label, first line in her language) of every tip the flows have."""
    out = []
    for n, tip in enumerate(TIPS, start=1):
        text = body(ctx, tip, language)
        if text:
            out.append((n, tip.label, text.splitlines()[0][:80]))
    return out


def pick(
    ctx: HandoffContext, number: int, language: str, placeholders: dict[str, str] | None = None
) -> str | None:
    """Tip number ``number`` (1-based) in her language, or None."""
    if not 1 <= number <= len(TIPS):
        return None
    return body(ctx, TIPS[number - 1], language, placeholders) or None
