"""The short summary a member sees, only with her consent: which parts of the
bot she read this session, whether the danger answer was shown, her language,
the official area her request was routed to. Never her words: the parts are
node ids of the flows mapped to fixed labels below, and the area is the
team file's own spelling, only when her answer matched one.
"""

from __future__ import annotations

from typing import Any

#: Flow nodes whose reading is worth telling the team, with the team's label.
#: Anything not listed (menus, questions, notices) is left out.
LABELS: dict[str, str] = {
    "rights_what_is_dv": "bạo lực gia đình là gì / what domestic violence is",
    "rights_victim": "quyền của người bị bạo lực / victims' rights",
    "rights_no_contact": "cấm tiếp xúc / protection orders",
    "rights_report": "cách trình báo / how to report",
    "rights_penalties": "mức xử phạt / penalties",
    "rights_divorce": "ly hôn / divorce",
    "rights_custody": "nuôi con / custody",
    "rights_legal_aid": "trợ giúp pháp lý / legal aid",
    "safety_before": "kế hoạch an toàn / safety plan",
    "safety_pack": "túi đồ khẩn cấp / emergency bag",
    "safety_code": "mật mã với người thân / code word",
    "safety_during": "an toàn khi bị tấn công / safety during an attack",
    "safety_after": "sau khi bị bạo lực / after violence",
    "safety_tech": "an toàn điện thoại / phone safety",
    "services": "dịch vụ hỗ trợ / support services",
    "services_peace_house": "Ngôi nhà Bình Yên / Peace House",
    "concern": "lo cho người khác / worried about someone",
    "concern_report": "trình báo thay người khác / reporting for someone",
}
#: The emergency answer: counted apart ("danger answer shown: yes").
EMERGENCY = "emergency"
#: Topics as the flows name them, with the team's label.
TOPICS: dict[str, str] = {
    "violence_home": "bạo lực trong gia đình / violence at home",
    "rights": "quyền và pháp luật / rights and the law",
    "safety": "kế hoạch an toàn / safety plan",
    "concern": "lo cho người khác / worried about someone",
    "other": "việc khác / something else",
}
MAX_PARTS = 8


def build(seen: Any, topic: str | None, area: str | None, language: str) -> dict[str, Any]:
    """The summary from the runner's list of visited nodes (ids only)."""
    ids = [str(s) for s in seen] if isinstance(seen, list) else []
    parts: list[str] = []
    for node in ids:
        label = LABELS.get(node)
        if label is not None and label not in parts:
            parts.append(label)
    return {
        "topic": TOPICS.get(topic or "", topic or ""),
        "read": parts[-MAX_PARTS:],
        "danger_shown": EMERGENCY in ids,
        "language": language,
        "area": area or "",
    }


def lines(summary: dict[str, Any]) -> list[str]:
    """The summary as the bilingual lines shown to her (before she agrees),
    on the card and in the member's connected notice: the same words."""
    read = ", ".join(str(p) for p in summary.get("read") or []) or "—"
    danger = "có / yes" if summary.get("danger_shown") else "không / no"
    return [
        f"Chủ đề / Topic: {summary.get('topic') or '—'}",
        f"Đã đọc / Read: {read}",
        f"Đã thấy hướng dẫn khẩn cấp / Danger answer shown: {danger}",
        f"Ngôn ngữ / Language: {summary.get('language') or '—'}",
        f"Khu vực / Area: {summary.get('area') or '—'}",
    ]


def text(summary: dict[str, Any]) -> str:
    return "\n".join(lines(summary))
