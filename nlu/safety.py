"""Emergency safety net: rules over the classifier so danger is never missed.

A statistical model will sometimes rank "ck dg bop co e" second.  These
patterns read the normalised (accent-folded, teen-code-expanded) text, so one
pattern covers ``chồng đang bóp cổ em``, ``ck dg bop co e`` and the English
phrasing.  Two tiers:

* *urgent* patterns (SOS, "cứu tôi", "đang đánh", "help me") fire always;
* *danger* patterns (knife, bleeding, choking, locked in, threat to kill)
  fire unless the message is clearly about the law, the past, a habit or a
  hypothetical ("chồng hay bóp cổ em khi say" is a disclosure, "đánh vợ bị
  phạt thế nào" a rights question) — and a present-time marker overrides that.
"""

from __future__ import annotations

import re

from .normalize import normalize

_PERSON = r"(?:toi|em|minh|tui|con|me|chau|chi|be|ba|bo|chung toi|me con em|me con toi|vo|nguoi ta)"
_VIOLENT = (
    r"(?:danh|dap|dam|dap pha|dap dau|bop co|siet co|chem|dot|dam chem|dap vao|ton thuong|"
    r"cat|treo|dim nuoc|ban|keo toc|nem|tat|tra tan|hanh hung|xo|xo nga|dap cua|pha cua|da vao|da|"
    r"duoi danh|cuong hiep|hiep|cam dao|cam gay|cam bua|cam rua|cam kiem|cam sung|dap do|giet)"
)

URGENT = [
    r"\bsos\b",
    r"(?<!nghien )(?<!cap )\bcuu (?:toi|em|minh|tui|con|me|chau|chi|be|voi|chung toi|giup|vs|ba|bo|nguoi|mang|me con|anh)\b",
    r"^cuu\b|(?<!nghien )(?<!cap )\bcuu$",
    r"\bai cuu\b",
    r"\b(?:help|save) (?:me|us)\b(?! (?:with|use|understand|find|learn|make|plan))",
    r"^help(?: help)+$|^help (?:please|pls|now)\b",
]

#: Danger happening now: fires unless the message is about the law or a hypothetical.
NOW = [
    r"\bdang (?:bi )?(?:\w+ ){0,2}?" + _VIOLENT + r"\b",
    r"\bdang (?:gap |o trong tinh trang )?nguy hiem\b|\bnguy hiem (?:qua|lam)\b",
    r"\bngay (?:bay gio|luc nay|bgio)\b.*\b(?:danh|giet|dao|nguy hiem|cuu|chay mau|bop co|nhot)\b",
    r"\b(?:danh|giet|dao|nguy hiem|cuu|chay mau|bop co|nhot)\b.*\bngay (?:bay gio|luc nay)\b",
    r"\b(?:is|are|hes|shes|theyre|keeps?) (?:hitting|beating|choking|strangling|attacking|kicking|hurting|stabbing|threatening)\b",
    r"\b(?:right now|in danger)\b",
    r"\b(?:goi|bao|call) (?:cong an|113|police|the police|115|cap cuu)(?: \w+)? (?:giup|gium|ho|di|ngay|voi|now|please)\b",
    r"^(?:goi|call|bao) (?:cong an|113|police|the police|115|cap cuu)\b",
    r"\b113\b.*\b(?:giup|voi|ngay|gium)\b",
    r"^(?:khan cap|emergency|urgent)\b|\bkhan cap\b.*\b(?:cuu|giup)\b|\burgent help\b",
    r"\bdang (?:tron|o) (?:trong )?(?:nha ve sinh|toilet|phong tam|tu|gam giuong)\b|\bhiding in\b",
    r"\b(?:tu tu|tu sat|kill myself|end my life|muon chet)\b",
]

DANGER = [
    r"\b(?:cam|co|rut|dua|ke|vung|gi) (?:con |cay )?(?:dao|sung|rua|kiem|bua|gay|mac|keo|liem)\b",
    r"\b(?:knife|gun|weapon|machete|axe)\b",
    r"\b(?:doa|se|sap|muon|di|bao|noi|thet) (?:\w+ ){0,2}?giet\b|\bgiet (?:" + _PERSON + r"|het|chet)\b",
    r"\b(?:kill|murder) (?:me|us|her|my|the)\b|\bkill\b.*\btonight\b",
    r"\bsap bi giet\b|\bbi giet\b",
    r"\bchay mau\b|\bmau chay\b|\bbleeding\b|\bblood\b",
    r"\b(?:bop|siet|boc) co\b|\bchok\w*|\bstrangl\w*",
    r"\bkhong tho (?:duoc|noi)\b|\b(?:cant|cannot|can not) breathe\b",
    r"\bnhot\b|\blocked (?:me )?(?:in|inside|up)\b|\block(?:ed|s)? me\b|\bkhoa cua (?:lai )?(?:nhot|khong cho)\b",
    r"\b(?:ngat|bat tinh|ngat xiu)\b|\bunconscious\b|\bpassed out\b",
    r"\b(?:troi|tied) (?:" + _PERSON + r"|me|up)\b|\bbi troi\b",
    r"\b(?:tuoi xang|dot nha|dot chet|burn (?:me|the house|us))\b",
    r"\bpha cua\b|\bbreaking (?:the |down the )?door\b|\bbreak(?:ing)? in\b",
]

#: Talking *about* danger: the law, a hypothetical, a film.  Damps NOW and DANGER.
ABOUT = [
    r"\b(?:luat|phap luat|quy dinh|hinh phat|xu phat|bi phat|xu ly|toi gi|bao nhieu nam|nghi dinh|dieu \d+|co phai la)\b",
    r"\b(?:law|legal|illegal|penalt\w*|crime|sentence|punish\w*)\b",
    r"\b(?:neu|gia su|phong khi|lam sao de|nen lam gi khi|lam gi khi|co nen|what if|if he|in case|what should i do if|what to do if|what to do when)\b",
    r"\b(?:phim|truyen|game|movie|film|bao chi|tin tuc|news)\b",
]

#: Past, habit or someone else not present: damps DANGER only, unless a present marker.
PAST_OR_OTHER = [
    r"\b(?:hay|thuong|thuong xuyen|moi lan|moi khi|tung|truoc day|hoi truoc|nam ngoai|thang truoc|tuan truoc|hom qua|toi qua|dem qua|hom truoc|lan truoc|ngay xua|tu lau|nhieu lan|suot)\b",
    r"\b(?:used to|last (?:week|month|year|night)|yesterday|sometimes|often|always|every time|when he is drunk|when drunk|in the past|before)\b",
    r"\b(?:hang xom|nha ben|ben canh|ban toi|ban em|ban minh|dong nghiep|neighbou?r|friend|coworker)\b",
]

#: Present-time markers that override PAST_OR_OTHER ("hôm qua... và giờ nó lại cầm dao").
PRESENT = [
    r"\b(?:dang|ngay bay gio|bay gio|luc nay|hien gio|gio nay|toi nay|dem nay|sap|ngay lap tuc)\b",
    r"\b(?:now|right now|tonight|currently|at the moment)\b",
    r"\b(?:cuu|sos|help me)\b",
]

_URGENT_RE = [re.compile(p) for p in URGENT]
_NOW_RE = [re.compile(p) for p in NOW]
_DANGER_RE = [re.compile(p) for p in DANGER]
_ABOUT_RE = [re.compile(p) for p in ABOUT]
_PAST_RE = [re.compile(p) for p in PAST_OR_OTHER]
_PRESENT_RE = [re.compile(p) for p in PRESENT]
#: Words that contain "cứu" without a cry for help.
_NOT_CUU = re.compile(r"\b(?:nghien cuu|cuu tro|cuu hoa|cuu chien binh|cuu sinh vien|cuu hoc sinh)\b")


def check_normalized(norm: str) -> str | None:
    """Name of the tier that fires on already-normalised text, or None."""
    norm = _NOT_CUU.sub(" ", norm)
    if any(rx.search(norm) for rx in _URGENT_RE):
        return "urgent"
    now = any(rx.search(norm) for rx in _NOW_RE)
    danger = not now and any(rx.search(norm) for rx in _DANGER_RE)
    if not (now or danger):
        return None
    if any(rx.search(norm) for rx in _ABOUT_RE):
        return None
    if danger and any(rx.search(norm) for rx in _PAST_RE) and not any(rx.search(norm) for rx in _PRESENT_RE):
        return None
    return "now" if now else "danger"


def is_emergency(text: str) -> bool:
    """True when the message signals danger now; reads the whole text, however long."""
    if len(text) <= 2000:
        return check_normalized(normalize(text)) is not None
    # Long texts: check overlapping windows so a cry for help at the end is not lost
    # and one window's damper ("luật") does not silence another window's "cứu".
    step = 1500
    for start in range(0, len(text), step):
        if check_normalized(normalize(text[start : start + 2000])) is not None:
            return True
    return False


def apply(text: str, result: dict) -> dict:
    """Force ``emergency`` (confidence 1.0) when the net fires; the ranking follows."""
    if not is_emergency(text):
        return result
    ranking = [r for r in result.get("intent_ranking", []) if r.get("name") != "emergency"]
    result["intent"] = {"name": "emergency", "confidence": 1.0}
    result["intent_ranking"] = [{"name": "emergency", "confidence": 1.0}, *ranking][:5]
    # Extra key beside Rasa's shape: the rules fired, not only the classifier.
    result["safety_net"] = True
    return result
