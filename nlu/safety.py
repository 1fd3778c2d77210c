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
#: Violent verbs whose folded spelling means little else ("đánh" but not "đánh răng").
_VIOLENT_STRONG = (
    r"(?:danh(?! (?:gia|may|rang|bai|dan|cau|bong|thuc|chu|van|game|xe|tieng|giac|luoi|bac|ten|so|phan|sach|tinh|ba|thiep|muc|hieu|nghia|vong|dau tich))|"
    r"dap(?! (?:ung|an|lai|xe))|bop co|siet co|chem|dap pha|dap dau|dap cua|pha cua|dap vao|da vao|dam vao|"
    r"keo toc|tra tan|hanh hung|xo nga|duoi danh|cuong hiep|cam dao|cam gay|cam bua|cam rua|cam kiem|cam sung|"
    r"dap do|giet|dim nuoc|ton thuong)"
)
#: Folded syllables that are violent only with a victim after them or "bị" before:
#: ``bắn``/``bạn``/``bán``, ``đá``/``đã``, ``cắt``, ``tát``/``tắt``, ``ném``, ``xô``, ``đốt``, ``đâm``/``đám``.
_VIOLENT_WEAK = r"(?:da|cat|tat|nem|xo|dot|dam|treo|troi|hiep)"
_VICTIM = r"(?:" + _PERSON + r"|vao|chet|vo|nguoi|dau|mat|bung|nguc)"
_VIOLENT = _VIOLENT_STRONG  # kept for readers of the old name
#: Someone who can be the danger when "he is at the door".
_AGGRESSOR = r"(?:chong(?: cu)?|chong em|chong toi|no|anh ta|anh ay|han|ong ay|ong ta|thang \w+|nguoi yeu(?: cu)?|bo duong|duong|bo no|ga)"

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
    r"\bdang (?:bi )?(?:\w+ ){0,2}?" + _VIOLENT_STRONG + r"\b",
    r"\bdang (?:\w+ ){0,2}?"
    + _VIOLENT_WEAK
    + r" "
    + _VICTIM
    + r"\b|\bdang bi (?:"
    + _VIOLENT_WEAK
    + r"|ban|danh|dap)\b",
    # The aggressor at the door / in front of the house / coming up the stairs, now.
    r"\b"
    + _AGGRESSOR
    + r" (?:\w+ ){0,2}?(?:dang )?(?:dung|o|rinh|doi|cho|go cua|dap cua|dap|pha|dung cho|lang vang) "
    r"(?:o )?(?:ngoai|truoc|ben ngoai|sau) (?:cua|nha|cong|phong|cua so)\b",
    r"\b"
    + _AGGRESSOR
    + r" (?:\w+ ){0,2}?dang (?:len (?:cau thang|lau|phong)|(?:xong|pha|dap) vao|(?:tim|duoi|ruot) (?:"
    + _PERSON
    + r"|theo))\b",
    r"\b(?:is|hes|shes|hes still|is still|theyre|are) (?:right )?(?:outside|at) (?:my|the|our) (?:door|house|window|room|gate)\b",
    r"\b(?:hes|he is|theyre|they are) (?:still here|inside the house|on top of me|kicking|breaking|banging)\b|^help (?:hes|he is) \w+",
    r"\bdang (?:gap |o trong tinh trang )?nguy hiem\b|\bnguy hiem (?:qua|lam)\b",
    r"\bngay (?:bay gio|luc nay|bgio)\b.*\b(?:danh|giet|dao|nguy hiem|cuu|chay mau|bop co|nhot)\b",
    r"\b(?:danh|giet|dao|nguy hiem|cuu|chay mau|bop co|nhot)\b.*\bngay (?:bay gio|luc nay)\b",
    r"\b(?:is|are|hes|shes|theyre|keeps?) (?:hitting|beating|choking|strangling|attacking|kicking|hurting|stabbing|threatening)\b",
    r"\b(?:right now|in danger)\b",
    r"\b(?:goi|bao|call) (?:cong an|113|police|the police|115|cap cuu)(?: \w+)? (?:giup|gium|ho|di|ngay|voi|now|please)\b",
    r"^(?:goi|call|bao) (?:cong an|113|police|the police|115|cap cuu)\b",
    r"\b113\b.*\b(?:giup|voi|ngay|gium)\b",
    r"^(?:khan cap|emergency|urgent)\b|\bkhan cap\b.*\b(?:cuu|giup)\b|\burgent help\b",
    r"(?:\b(?:tron|nap) (?:trong |duoi |o |vao )?|\bdang o trong )(?:nha ve sinh|toilet|phong tam|nha tam|tu|gam giuong|bep|kho)\b(?! (?:co|la|o dau|nao|thi|duoc))|\bhiding in\b",
    r"^(?:113|115)(?: oi| oi| giup| voi| di)*$|\b(?:113|115) oi\b",
    r"\b(?:tu tu|tu sat|kill myself|end my life|muon chet)\b",
]

DANGER = [
    r"\b(?:cam|co|rut|dua|ke|vung|gi) (?:con |cay )?(?:dao|sung|rua|kiem|bua|gay|mac|keo|liem)\b",
    r"\bweapon\b",
    r"\b(?:doa|se|sap|muon|di|bao|noi|thet) (?:\w+ ){0,2}?giet\b|\bgiet (?:"
    + _PERSON
    + r"|het|chet)\b",
    r"\b(?:kill|murder) (?:me|us|her|my|the)\b|\bkill\b.*\btonight\b",
    r"\bsap bi giet\b|\bbi giet\b",
    r"\bmau chay\b|\bblood\b",
    r"\b(?:bop|siet|boc) co\b|\bchok\w*|\bstrangl\w*",
    r"\bkhong tho (?:duoc|noi)\b|\b(?:cant|cannot|can not) breathe\b",
    r"\bnhot\b|\blocked (?:me )?(?:in|inside|up)\b|\block(?:ed|s)? me\b|\bkhoa cua (?:lai )?(?:nhot|khong cho)\b",
    r"\b(?:troi|tied) (?:" + _PERSON + r"|me|up)\b|\bbi troi\b",
    r"\b(?:tuoi xang|dot nha|dot chet|burn (?:me|the house|us))\b",
    r"\bbreak(?:ing)? in\b",
    r"\b(?:doi|se|dinh|doa) (?:\w+ ){0,2}?danh chet\b|\bdanh chet (?:" + _PERSON + r"|luon)\b",
    r"\bchet chung\b|\bom con (?:nhay|chet)\b|\b(?:crash|drive) (?:it|the car|into)\b",
    r"\b(?:bi|dang bi) (?:\w+ )?khoa (?:trong|o trong|trai)\b|\bkhong ra (?:ngoai )?duoc\b",
    r"\bon top of me\b|\bwont let me (?:leave|go|out)\b",
]

#: Acute danger (a weapon in hand, blood, someone unconscious, a door being broken):
#: also when it is a neighbour's or a friend's, unless it is clearly past or habit.
ACUTE = [
    r"\b(?:cam|co|rut|dua|ke|vung|gi) (?:con |cay )?(?:dao|sung|rua|kiem|bua|mac|liem)\b",
    r"\b(?:knife|gun|machete|axe)\b",
    r"\bcam (?:cay(?! (?:choi|but|viet|kem|nen|thuoc|kim|dan|lau|sao|co|hoa|rau))|gach|chai|ghe|xa beng|gay)\b|\b(?:with|has|holding) (?:a |the )?(?:bat|stick|hammer|bottle|brick)\b",
    r"\bchay mau\b|\bbleeding\b|\b(?:bi dam|bi chem)\b|\bmau (?:nhieu|me)\b|\bstabbed\b",
    r"\bngat(?! (?:ket noi|loi|dien|mang|may|cuoc|lien lac))\b|\b(?:bat tinh|ngat xiu)\b|\bunconscious\b|\bpassed out\b",
    r"\b(?:nam )?bat dong\b(?! san)|\bkhong (?:nhuc nhich|cu dong|tinh lai)\b|\bnot (?:moving|breathing)\b|\bwont wake up\b",
    r"\bpha cua\b|\bdap cua\b|\bdoi (?:xong )?vao (?:nha|phong)\b|\bdoi pha\b|\bkicking (?:the |my )?door\b|\bbanging on\b|\bbreaking (?:the |down the )?door\b",
    r"\bdang (?:\w+ ){0,3}?(?:la het|keu cuu|gao thet|khoc thet|thet len)\b|\bscreaming\b",
]

#: Talking *about* danger: the law, a hypothetical, a film.  Damps NOW and DANGER.
ABOUT = [
    r"\b(?:luat|phap luat|quy dinh|hinh phat|xu phat|bi phat|xu ly|toi gi|bao nhieu nam|nghi dinh|dieu \d+|co phai la)\b",
    r"\b(?:law|legal|illegal|penalt\w*|crime|sentence|punish\w*)\b",
    r"\b(?:co|se) bi bat\b|\bbi bat (?:khong|giam)\b|\b(?:di tu|ngoi tu|bi tu)\b|\bthi (?:\w+ ){0,4}?co (?:\w+ ){0,4}?khong$",
    r"\b(?:arrested|go to jail|go to prison)\b",
    r"\b(?:neu|gia su|phong khi|lam sao de|nen lam gi khi|lam gi khi|co nen|what if|if he|in case|what should i do if|what to do if|what to do when)\b",
    r"\b(?:phim|truyen|game|movie|film|bao chi|tin tuc|news)\b",
]

#: Past, habit or someone else not present: damps DANGER only, unless a present marker.
PAST = [
    r"\b(?:hay|thuong|thuong xuyen|moi lan|moi khi|tung|truoc day|hoi truoc|nam ngoai|thang truoc|tuan truoc|hom qua|toi qua|dem qua|hom truoc|lan truoc|ngay xua|tu lau|nhieu lan|suot|hoai)\b",
    r"\bhoi (?:tet|do|xua|nam|thang|nho|con|moi cuoi|truoc)\b|\b(?:tuan|thang|nam) (?:roi|kia)\b|\bmay (?:nam|thang) (?:nay|truoc)\b|\b(?:lan|ngay|hom) do\b",
    r"\b(?:used to|last (?:week|month|year|night)|yesterday|sometimes|often|always|every time|when he is drunk|when drunk|in the past|before|ago|once)\b",
]
#: Someone else, not present: damps ordinary DANGER (not ACUTE) unless a present marker.
OTHER = [
    r"\b(?:hang xom|nha ben|ben canh|ban toi|ban em|ban minh|dong nghiep|neighbou?r|friend|coworker)\b",
]
PAST_OR_OTHER = PAST + OTHER

#: Present-time markers that override PAST_OR_OTHER ("hôm qua... và giờ nó lại cầm dao").
PRESENT = [
    # Not "đang" alone: "em đang ở nhà mẹ, hồi tết ổng nhốt em" is a disclosure.
    r"\b(?:ngay bay gio|bay gio|luc nay|hien gio|gio nay|toi nay|dem nay|sap|ngay lap tuc)\b",
    r"\bgio (?:\w+ ){0,2}?(?:lai|dang)\b|\blai (?:dang )?(?:cam|danh|doa|dap|bop)\b",
    r"\bdang (?:\w+ ){0,2}?(?:cam|bop|siet|chay|nhot|khoa|doa|danh|dap|ruot|duoi|ngoai|dung|giet|keu|la)\b",
    r"\b(?:now|right now|tonight|currently|at the moment)\b",
    r"\b(?:cuu|sos|help me)\b",
]

_URGENT_RE = [re.compile(p) for p in URGENT]
_NOW_RE = [re.compile(p) for p in NOW]
_DANGER_RE = [re.compile(p) for p in DANGER]
_ABOUT_RE = [re.compile(p) for p in ABOUT]
_ACUTE_RE = [re.compile(p) for p in ACUTE]
_PAST_RE = [re.compile(p) for p in PAST]
_OTHER_RE = [re.compile(p) for p in OTHER]
_PRESENT_RE = [re.compile(p) for p in PRESENT]
#: Words that contain "cứu" without a cry for help.
_NOT_CUU = re.compile(
    r"\b(?:nghien cuu|cuu tro|cuu hoa|cuu chien binh|cuu sinh vien|cuu hoc sinh)\b"
)


def check_normalized(norm: str) -> str | None:
    """Name of the tier that fires on already-normalised text, or None."""
    norm = _NOT_CUU.sub(" ", norm)
    if any(rx.search(norm) for rx in _URGENT_RE):
        return "urgent"
    now = any(rx.search(norm) for rx in _NOW_RE)
    acute = not now and any(rx.search(norm) for rx in _ACUTE_RE)
    danger = not (now or acute) and any(rx.search(norm) for rx in _DANGER_RE)
    if not (now or acute or danger):
        return None
    if any(rx.search(norm) for rx in _ABOUT_RE):
        return None
    if now:
        return "now"
    if any(rx.search(norm) for rx in _PRESENT_RE):
        return "danger"
    if any(rx.search(norm) for rx in _PAST_RE):
        return None
    # Someone else's situation damps ordinary danger words, not a weapon or blood.
    if danger and any(rx.search(norm) for rx in _OTHER_RE):
        return None
    return "danger"


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
