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
from functools import lru_cache
from typing import Any

from .normalize import normalize_both

_PERSON = r"(?:toi|em|minh|tui|con|me|chau|chi|be|ba|bo|chung toi|me con em|me con toi|vo|nguoi ta)"
#: Violent verbs whose folded spelling means little else ("đánh" but not "đánh răng").
_VIOLENT_STRONG = (
    r"(?:danh(?! (?:gia|may|rang|bai|dan|cau|bong|thuc|chu|van|game|xe|tieng|giac|luoi|bac|ten|so|"
    r"phan|sach|tinh|ba|thiep|muc|hieu|nghia|vong|dau tich))|"
    r"dap(?! (?:ung|an|lai|xe))|bop co|siet co|chem|dap pha|dap dau|dap cua|pha cua|dap vao|"
    r"da vao|dam vao|"
    r"keo toc|tra tan|hanh hung|xo nga|duoi danh|cuong hiep|cam dao|cam gay|cam bua|cam rua|"
    r"cam kiem|cam sung|"
    r"dap do|giet|dim nuoc|ton thuong)"
)
#: Folded syllables that are violent only with a victim after them or "bị" before:
#: ``bắn``/``bạn``/``bán``, ``đá``/``đã``, ``cắt``, ``tát``/``tắt``, ``ném``, ``xô``,
#: ``đốt``, ``đâm``/``đám``.
_VIOLENT_WEAK = r"(?:da|cat|tat|nem|xo|dot|dam|treo|troi|hiep)"
_VICTIM = r"(?:" + _PERSON + r"|vao|chet|vo|nguoi|dau|mat|bung|nguc)"
_VIOLENT = _VIOLENT_STRONG  # kept for readers of the old name
#: Someone who can be the danger when "he is at the door".
_AGGRESSOR = (
    r"(?:chong(?: cu)?|chong em|chong toi|no|anh ta|anh ay|han|ong ay|ong ta|thang \w+"
    r"|nguoi yeu(?: cu)?|bo duong|duong|bo no|ga)"
)

#: After "the aggressor is at the door": the end, or words that keep it about her,
#: not an errand ("đứng ngoài cổng chờ taxi", "đứng trước nhà nói chuyện").
_AT_DOOR_END = (
    r"(?: (?:nha|phong|cong|cua)(?: (?:em|toi|tui|minh|me|chi|con))?)?"
    r"(?=$| (?:roi|kia|do|nay|ne|a|oi|day|lau roi|khong chiu di|khong di|chua di|doi|dap|go|la"
    r"|chui|so|em|toi|tui|minh|cam|rinh|nhin|muon|hoai|nua|canh|suot|khoa|bat|ca dem|ma|tu"
    r"|may tieng|ca tieng|tu sang|tu chieu|tu toi)\b)"
)

URGENT = [
    r"\bsos\b",
    r"(?<!nghien )(?<!cap )\bcuu (?:toi|em|minh|tui|con|me|chau|chi|be|voi|chung toi|giup|vs|ba|"
    r"bo|nguoi|mang|me con|anh)\b",
    r"^cuu\b|(?<!nghien )(?<!cap )\bcuu$",
    r"\bai cuu\b",
    # "help me" as a cry, not "help me choose a gift" / "save me a seat".
    r"\b(?:help|save) (?:me|us)(?=$| (?:please|pls|plz|now|quick|fast|someone|somebody|anyone"
    r"|he|she|they|hes|shes|theyre|im|i|my|from|oh|god|asap|help|get out|escape|hide|run))",
    r"^help(?: help)+$|^help (?:please|pls|now)\b",
    # "giúp em với!!!" as the whole message.
    r"^(?:ai |lam on |xin )?(?:giup|gium|giup do) (?:em|toi|minh|tui|chau|con|chi|me|me con em)"
    r" (?:voi|vs|di|nhanh|ngay)(?: (?:voi|vs|oi|ai|di|nhanh len|ngay|nhanh))*$",
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
    r"(?:o )?(?:ngoai|truoc|ben ngoai|sau) (?:cua|nha|cong|phong|cua so)\b" + _AT_DOOR_END,
    r"\b" + _AGGRESSOR + r" (?:\w+ ){0,2}?dang (?:len (?:cau thang|lau|phong)|(?:xong|pha|dap) vao"
    r"|(?:tim|duoi|ruot) (?:" + _PERSON + r"|theo))\b",
    r"\b(?:hes|he is|my (?:ex|ex husband|husband|boyfriend|ex boyfriend|partner|father|dad|"
    r"stepfather)"
    r"(?: is)?) (?:still )?(?:right )?(?:outside|at) (?:my|the|our) (?:door|house|window|room|"
    r"gate)\b",
    r"\b(?:hes|he is|theyre|they are) (?:still here|inside the house|on top of me|kicking|"
    r"breaking|banging)\b|^help (?:hes|he is) \w+",
    r"\bdang (?:gap |o trong tinh trang )?nguy hiem\b|^nguy hiem (?:qua|lam)(?: \w+)?$"
    r"|\b(?:em|toi|minh|tui|chung toi|me con \w+) (?:\w+ )?nguy hiem (?:qua|lam)\b",
    r"\bngay (?:bay gio|luc nay|bgio)\b.*\b(?:danh|giet|dao|nguy hiem|cuu|chay mau|bop co|nhot)\b",
    r"\b(?:danh|giet|dao|nguy hiem|cuu|chay mau|bop co|nhot)\b.*\bngay (?:bay gio|luc nay)\b",
    r"\b(?:is|are|hes|shes|theyre|keeps?) (?:hitting|beating|choking|strangling|attacking|kicking|"
    r"hurting|stabbing|threatening)\b",
    r"\b(?:im|i am|we are|were|shes|she is|hes|he is|my (?:kids?|children|son|daughter|baby|mom|mum"
    r"|mother|sister|brother|family|life) (?:is|are)|the kids are) (?:still |really |"
    r"now )?in danger\b",
    r"\b(?:goi|bao|call) (?:cong an|113|police|the police|115|cap cuu)(?: \w+)? (?:giup|gium|ho|"
    r"di|ngay|voi|now|please)\b",
    r"^(?:goi|call|bao) (?:cong an|113|police|the police|115|cap cuu)\b",
    r"\b113\b.*\b(?:giup|voi|ngay|gium)\b",
    r"^(?:khan cap|emergency|urgent)(?: (?:help|please|pls|plz|giup|em|toi|cuu|oi|voi|lam|qua|me|"
    r"now))*$"
    r"|\bkhan cap\b.*\b(?:cuu|giup)\b|\burgent help\b",
    r"(?:\b(?:tron|nap) (?:trong |duoi |o |vao )?|\bdang o trong )(?:nha ve sinh|toilet|phong tam|"
    r"nha tam|tu|gam giuong|bep|kho)\b(?! (?:co|la|o dau|nao|thi|duoc))|\bhiding in\b",
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
    r"\bnhot\b|\blocked (?:me )?(?:in|inside|up)\b|\block(?:ed|s)? me\b|"
    r"\bkhoa cua (?:lai )?(?:nhot|khong cho)\b",
    r"\b(?:troi|tied) (?:" + _PERSON + r"|me|up)\b|\bbi troi\b",
    r"\b(?:tuoi xang|dot nha|dot chet|burn (?:me|the house|us))\b",
    r"\bbreak(?:ing)? in\b",
    r"\b(?:doi|se|dinh|doa) (?:\w+ ){0,2}?danh chet\b|\bdanh chet (?:" + _PERSON + r"|luon)\b",
    r"\bchet chung\b|\bom con (?:nhay|chet)\b|\b(?:crash|drive) (?:it|the car|into)\b",
    r"\b(?:bi|dang bi) (?:\w+ )?khoa (?:trong|o trong|trai)\b|\bkhong ra (?:ngoai )?duoc\b",
    r"\bon top of me\b|\bwont let me (?:leave|go|out)\b",
    r"\b" + _AGGRESSOR + r" (?:\w+ ){0,2}?(?:duoi|ruot) theo (?:" + _PERSON + r")\b",
]

#: Acute danger (a weapon in hand, blood, someone unconscious, a door being broken):
#: also when it is a neighbour's or a friend's, unless it is clearly past or habit.
ACUTE = [
    r"\b(?:cam|co|rut|dua|ke|vung|gi) (?:con |cay )?(?:dao|sung|rua|kiem|bua|mac|liem)\b",
    r"\b(?:has|have|had|got|holding|holds|with|pulled|pulls|grabbed|grabs|waving|pointing|points"
    r"|brought|carrying|carries|took|takes|picked up|swinging) (?:a |an |the |his |her |my |their "
    r"|that |this )?(?:\w+ )?(?:knife|gun|machete|axe|pistol|rifle|blade)\b"
    r"|\b(?:knife|gun|machete|axe|pistol|blade) (?:to|at|against|in his hand)\b",
    r"\bcam (?:cay(?! (?:choi|but|viet|kem|nen|thuoc|kim|dan|lau|sao|co|hoa|rau))|gach|chai|ghe|"
    r"xa beng|gay)\b|\b(?:with|has|holding) (?:a |the )?(?:bat|stick|hammer|bottle|brick)\b",
    r"\bchay mau\b|\bbleeding\b(?! (?:money|cash|heart|edge|colou?rs?|ink))|\b(?:bi dam|"
    r"bi chem)\b|\bmau (?:nhieu|me)\b|\bstabbed\b",
    r"\bngat(?! (?:ket noi|loi|dien|mang|may|cuoc|lien lac))\b|\b(?:bat tinh|ngat xiu)\b|"
    r"\bunconscious\b|\bpassed out\b",
    r"\b(?:nam )?bat dong\b(?! san)|\bkhong (?:nhuc nhich|cu dong|tinh lai)\b|\bnot (?:moving|"
    r"breathing)\b|\bwont wake up\b",
    r"\bpha cua\b|\bdap cua\b|\bdoi (?:xong )?vao (?:nha|phong)\b|\bdoi pha\b|\bkicking (?:the |"
    r"my )?door\b|\bbanging on\b|\bbreaking (?:the |down the )?door\b",
    r"\bdang (?:\w+ ){0,3}?(?:la het|keu cuu|gao thet|khoc thet|thet len)\b|"
    r"\bscreaming (?:for help|in pain)\b"
    r"|\b(?:she|shes|mom|mum|mother|my sister|my neighbou?r|a woman|the woman) (?:is |keeps |was )?"
    r"screaming\b",
]

#: Talking *about* danger: the law, a hypothetical, a film.  Damps NOW and DANGER.
ABOUT = [
    r"\b(?:luat|phap luat|quy dinh|hinh phat|xu phat|bi phat|xu ly|toi gi|bao nhieu nam|nghi dinh|"
    r"dieu \d+|co phai la)\b",
    r"\b(?:law|legal|illegal|penalt\w*|crime|sentence|punish\w*)\b",
    r"\b(?:co|se) bi bat\b|\bbi bat (?:khong|giam)\b|\b(?:di tu|ngoi tu|bi tu)\b|"
    r"\bthi (?:\w+ ){0,4}?co (?:\w+ ){0,4}?khong$",
    r"\b(?:arrested|go to jail|go to prison)\b",
    r"\b(?:neu|gia su|phong khi|lam sao de|nen lam gi khi|lam gi khi|co nen|what if|if he|in case|"
    r"what should i do if|what to do if|what to do when)\b",
    r"\b(?:phim|truyen|game|movie|film|bao chi|tin tuc|news)\b",
]

#: Past, habit or someone else not present: damps DANGER only, unless a present marker.
PAST = [
    r"\b(?:hay|thuong|thuong xuyen|moi lan|moi khi|tung|truoc day|hoi truoc|nam ngoai|thang truoc|"
    r"tuan truoc|hom qua|toi qua|dem qua|hom truoc|lan truoc|ngay xua|tu lau|nhieu lan|suot|"
    r"hoai)\b",
    r"\bhoi (?:tet|do|xua|nam|thang|nho|con|moi cuoi|truoc)\b|\b(?:tuan|thang|nam) (?:roi|kia)\b|"
    r"\bmay (?:nam|thang) (?:nay|truoc)\b|\b(?:lan|ngay|hom) do\b",
    r"\b(?:used to|last (?:week|month|year|night)|yesterday|sometimes|often|always|every time|"
    r"when he is drunk|when drunk|in the past|before|ago|once)\b",
]
#: Someone else, not present: damps ordinary DANGER (not ACUTE) unless a present marker.
OTHER = [
    r"\b(?:hang xom|nha ben|ben canh|ban toi|ban em|ban minh|dong nghiep|neighbou?r|friend|"
    r"coworker)\b",
]
PAST_OR_OTHER = PAST + OTHER

#: Present-time markers that override PAST_OR_OTHER ("hôm qua... và giờ nó lại cầm dao").
PRESENT = [
    # Not "đang" alone: "em đang ở nhà mẹ, hồi tết ổng nhốt em" is a disclosure.
    r"\b(?:ngay bay gio|bay gio|luc nay|hien gio|gio nay|toi nay|dem nay|sap|ngay lap tuc)\b",
    r"\bgio (?:\w+ ){0,2}?(?:lai|dang)\b|\blai (?:dang )?(?:cam|danh|doa|dap|bop)\b",
    r"\bdang (?:\w+ ){0,2}?(?:cam|bop|siet|chay|nhot|khoa|doa|danh|dap|ruot|duoi|ngoai|dung|giet|"
    r"keu|la)\b",
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
#: Folded syllables that can be danger, and the accented spellings of the same
#: syllable that are other words.  A token typed with one of these accents is
#: masked: an accented "cựu" (former) is not "cứu" (help).  Unaccented tokens
#: are never masked by this table; for them the context masks below decide.
_OTHER_SPELLINGS: dict[str, frozenset[str]] = {
    k: frozenset(v.split())
    for k, v in {
        "cuu": "cựu cửu cừu cưu cữu",
        "danh": "dành đành dạnh dãnh",
        "dao": "dạo đạo đào dào đảo dáo dão",
        "mau": "màu mẫu mầu mậu mâu",
        "dam": "đám dám đầm đắm dặm đạm đảm dăm dàm đàm",
        "chem": "chèm chễm",
        "sung": "sùng sưng sừng sửng sung",
        "ngat": "ngắt ngát",
        "tat": "tắt tất tật",
        "troi": "trời trôi trồi trỗi",
        "nhot": "nhọt",
        "tron": "tròn trộn trọn",
        "tu": "từ tư tú tụ tù tứ",
        "dap": "đáp dạp dập",
        "bop": "bốp bộp",
        "da": "đã da dạ đà đa dã dà",
        "ban": "bạn bán bàn bận bản bẩn bàn bấn",
        "cat": "cát cất cật",
        "xo": "xỏ xơ xổ xó xớ",
        "dot": "đột dốt đợt đọt",
        "nem": "nếm nệm",
        "hiep": "hiệp",
        "keo": "kẹo kèo",
        "rua": "rửa rùa",
        "bua": "bùa bữa bừa",
        "gay": "gây gãy gầy gáy gạy gay",
        "mac": "mặc mắc mạc",
        "liem": "liêm liếm",
        "giet": "",
    }.items()
}

#: Phrases that only look like danger once folded: masked before any rule runs.
_BENIGN = [
    # cứu / cửu / cựu / cừu without accents
    r"\bnghien cuu\b|\bcuu (?:chuong|long|chan)\b",
    r"\bcuu (?:sinh vien|hoc sinh|chien binh|giam doc|giao vien|bo truong|chu tich|thu tuong"
    r"|tong thong|nhan vien|can bo|thanh vien|cau thu|lanh dao|dai su|quan nhan|hoa hau|tu nhan"
    r"|pho \w+|truong \w+|dong nghiep|binh)\b",
    r"\b(?:con|thit|long|dan|sua|bay|nuoi) cuu\b|\bcuu (?:non|be be)\b",
    r"\bcuu (?:ho|hoa|tro|tinh|canh|the|van|nan|quoc|roi|chua chay)\b",
    # đánh răng, đánh giá... (the verb that is not a blow)
    r"\bdanh (?:rang|gia|may|bai|dan|cau long|cau|bong|thuc|chu|van|game|tieng|giac|luoi|bac"
    r"|ten|so|phan|sach|tinh|thiep|muc|hieu|nghia|vong|dau tich|dau trang|son|co tuong|co vua"
    r"|giay|trung|cap|thue|du|golf|tennis|bong ban|trong|dan)\b",
    r"\bgiet (?:thoi gian|ruoi|muoi|sau|gian|kien|mo|moi|con trung)\b|\bgiet mo\b",
    r"\bchet (?:may|tiet|thiet|me chet met)\b",
    r"\b(?:met|doi|nong|lanh|chan|buon ngu|ngai|xau ho|dau bung|thom|ngon|dep|cuoi) (?:qua |lam )?"
    r"muon chet (?:luon|di duoc|mat|roi)\b",
    r"\btu tu (?:thoi|da|nao|nhe|nha|ma|roi tinh|chut|cho)\b|\b(?:lam|an|noi|di|chay|doc|"
    r"hoc) tu tu\b",
    r"\bdao keo(?: tham my)?\b",
    r"\b(?:cam|co|dung|lay) (?:con |cay |cai )?(?:dao|bua|rua|liem|keo|mac|kiem) (?:thai|got|bam|"
    r"chat"
    r"|dong|sua|lam|gat|don|xe|tia|mai|phat|vot|cat)\b(?! (?:cua|co|tay|chan|mat|dau|nguoi|em|toi"
    r"|vo|con|chi|me|be|tui|minh|ba|bo|anh|chau|no|han))",
    r"\bcuu (?:toi|em|minh|tui|tao)(?: voi)? (?:cai |bai |mon )?(?:deadline|bai tap|mon|ky thi|"
    r"de thi"
    r"|excel|code|project|do an|luan van)\b",
    r"\bbop co (?:tay|chan)\b|\bxoa bop\b|\bco (?:vai gay|tay|chan)\b",
    r"\bnhot (?:con )?(?:ga|vit|meo|cho|heo|lon|chim|ca|tho|chuot|trau|de)\b",
    r"\bgiet (?:con |may con |het )?(?:chuot|gian|muoi|ruoi|ran|sau|kien|rep|ca|ga|heo|lon|vit|"
    r"bo xit)\b",
    # English
    r"\bblood (?:test|tests|type|pressure|sugar|donation|donor|bank|drive|work|results?|orange"
    r"|moon|oath|brothers?)\b|\b(?:donat\w*|give|giving|gave|donor) blood\b",
    r"\bchok\w* (?:on|back)\b|\bpassed out (?:from|on the|after|laughing)\b|"
    r"\bcant breathe through\b",
    r"\bknife (?:sharpener|skills|set|block|rack|holder)\b",
    r"\bgun (?:show|license|licence|control|laws?|shop|store|club|range)\b",
    r"\bin danger of\b",
    r"\b(?:traffic|this \w+|work|deadline|heat|homework|it) (?:is |are )?killing me\b",
    r"\b(?:boss|teacher|coach|manager) (?:\w+ ){0,4}?kill me\b|\b(?:killing|killed|kill) it\b",
    r"\bhitting the (?:gym|road|books|sack|hay|bed|jackpot|snooze|shops)\b",
    r"\bscreaming (?:with|in) (?:joy|excitement|delight|laughter)\b",
]

#: Everyday activity: damps the rules below URGENT (a mother "cầm dao thái rau", a
#: husband "đứng trước nhà nói chuyện", a cat hiding in the wardrobe) unless a
#: threat word is also there.
EVERYDAY = [
    r"\b(?:thai (?:rau|thit|hanh|toi|ca|cu)|got (?:hoa qua|trai cay|tao|xoai|le|cu|vo)"
    r"|nau (?:an|com|canh)|lam bep|bam thit|cat (?:vai|toc|giay|rau|thit|banh|mong)"
    r"|chat (?:thit|ga|xuong)|noi chuyen|tro chuyen|choi (?:game|bong|voi con)|tron tim"
    r"|tuoi cay|quet (?:nha|san)|rua (?:bat|chen|xe)|xem (?:phim|tivi|bong da)|luon kim"
    r"|chay mau cam|con meo|con cho|xe tai|chay au|tai nan giao thong|leo nui|doi xe|cho xe"
    r"|ban hang|tap the duc)\b",
    # chores with a tool, toys, small accidents
    r"\b(?:chat (?:chuoi|cui|cay|tre|go|dua|canh)|don (?:co|vuon|cui)|phat co|lam vuon|ra vuon"
    r"|do hang|nhua|do choi|bi nga|bi te|te xe|nga xe|vap nga|dut tay|tray (?:chan|tay|dau goi)"
    r"|chut xiu|mot chut|ti xiu|mot ti)\b",
    r"\b(?:groceries|shopping bags|pizza|delivery|parcel|package|football|soccer|cooking|recipe"
    r"|the gym)\b",
    # Tools, not weapons in a hand: "I need a new bread knife", "hot glue gun".
    r"\b(?:need|want|buy|buying|bought|order\w*|sharpen\w*|recommend|looking for|gift) (?:a |an "
    r"|the |new |good |sharp |some )*(?:\w+ )?(?:knife|knives|axe|gun|scissors)\b",
    r"\b(?:glue|nail|water|toy|nerf|spray|heat|staple|massage|paint|caulk|grease|squirt|price"
    r"|radar|speed) guns?\b|\baxe to (?:split|chop|cut)\b|\bfirewood\b",
]
#: Threat words that keep a rule firing despite an everyday activity.
THREAT = [
    r"\b(?:doa|duoi|ruot|chem|dam|giet|danh|dap|bop|la het|keu cuu|cuu|so qua|hoang|sos)\b",
    r"\b(?:threat\w*|chas\w*|attack\w*|kill\w*|hit(?:ting)? me|hurt\w*|scared|help|pointing"
    r"|holding|waving|pulled|grabbed)\b",
]

_URGENT_RE = [re.compile(p) for p in URGENT]
_NOW_RE = [re.compile(p) for p in NOW]
_DANGER_RE = [re.compile(p) for p in DANGER]
_ABOUT_RE = [re.compile(p) for p in ABOUT]
_ACUTE_RE = [re.compile(p) for p in ACUTE]
_PAST_RE = [re.compile(p) for p in PAST]
_OTHER_RE = [re.compile(p) for p in OTHER]
_PRESENT_RE = [re.compile(p) for p in PRESENT]
_BENIGN_RE = re.compile("|".join(f"(?:{p})" for p in _BENIGN))
_EVERYDAY_RE = [re.compile(p) for p in EVERYDAY]
_THREAT_RE = [re.compile(p) for p in THREAT]
#: Unit markers before a place name ("phường An Cựu", "ở Cửu An").
_PLACE_MARKERS = (
    r"(?:xa|phuong|thi tran|thi xa|dac khu|quan|huyen|tinh|tp|thanh pho|o|tai|cho|thon|ap|khu pho"
    r"|ben xe|dia chi)"
)


@lru_cache(maxsize=1)
def _place_re() -> re.Pattern[str]:
    """Place names (2025 wards/communes) containing a danger-looking syllable, after a marker.

    "Phường An Cựu", "xã Khả Cửu", "phường Hưng Đạo" are where she lives, not a
    cry for help.  The names come from the ``vietnam-provinces`` package.
    """
    from vietnam_provinces import Ward

    from .normalize import fold

    prefix = re.compile(r"^(?:phuong|xa|dac khu|thi tran) ")
    names: set[str] = set()
    for ward in Ward.iter_all():
        key = " ".join(re.findall(r"[a-z0-9]+", fold(ward.name.lower())))
        key = prefix.sub("", key)
        if any(tok in _OTHER_SPELLINGS for tok in key.split()) or "cuu" in key.split():
            names.add(re.escape(key))
    alts = "|".join(sorted(names, key=len, reverse=True))
    return re.compile(rf"\b{_PLACE_MARKERS} (?:{alts})\b|^(?:{alts})$")


def warm_up() -> None:
    """Build the place-name pattern (~0.15 s) ahead of the first message."""
    _place_re()


def _mask_accents(plain: str, rich: str) -> str:
    """Mask folded tokens whose accented spelling is another word ("cựu" is not "cứu")."""
    p_toks, r_toks = plain.split(), rich.split()
    if len(p_toks) != len(r_toks):
        return plain
    changed = False
    for i, (p, r) in enumerate(zip(p_toks, r_toks, strict=True)):
        others = _OTHER_SPELLINGS.get(p)
        if others and r != p and r in others:
            p_toks[i] = p + "_"
            changed = True
    return " ".join(p_toks) if changed else plain


def mask(plain: str, rich: str | None = None) -> str:
    """The folded text with look-alike words masked, ready for the rules."""
    if rich is not None:
        plain = _mask_accents(plain, rich)
    plain = _BENIGN_RE.sub(" _ ", plain)
    plain = _place_re().sub(" _ ", plain)
    return " ".join(plain.split())


def check_normalized(norm: str, rich: str | None = None) -> str | None:
    """Name of the tier that fires on already-normalised text, or None.

    ``rich`` is the same text with its accents (``normalize_both``): when given,
    accented look-alikes are masked before the rules run.
    """
    norm = mask(norm, rich)
    if any(rx.search(norm) for rx in _URGENT_RE):
        return "urgent"
    now = any(rx.search(norm) for rx in _NOW_RE)
    acute = not now and any(rx.search(norm) for rx in _ACUTE_RE)
    danger = not (now or acute) and any(rx.search(norm) for rx in _DANGER_RE)
    if not (now or acute or danger):
        return None
    if any(rx.search(norm) for rx in _ABOUT_RE):
        return None
    if any(rx.search(norm) for rx in _EVERYDAY_RE) and not any(
        rx.search(norm) for rx in _THREAT_RE
    ):
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


def _check(text: str) -> bool:
    plain, rich = normalize_both(text)
    return check_normalized(plain, rich) is not None


def is_emergency(text: str) -> bool:
    """True when the message signals danger now; reads the whole text, however long."""
    if len(text) <= 2000:
        return _check(text)
    # Long texts: check overlapping windows so a cry for help at the end is not lost
    # and one window's damper ("luật") does not silence another window's "cứu".
    step = 1500
    for start in range(0, len(text), step):
        if _check(text[start : start + 2000]):
            return True
    return False


def apply(text: str, result: dict[str, Any]) -> dict[str, Any]:
    """Force ``emergency`` (confidence 1.0) when the net fires; the ranking follows."""
    if not is_emergency(text):
        return result
    ranking = [r for r in result.get("intent_ranking", []) if r.get("name") != "emergency"]
    result["intent"] = {"name": "emergency", "confidence": 1.0}
    result["intent_ranking"] = [{"name": "emergency", "confidence": 1.0}, *ranking][:5]
    # Extra key beside Rasa's shape: the rules fired, not only the classifier.
    result["safety_net"] = True
    return result
