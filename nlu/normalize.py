"""Text normalisation shared by training and parsing.

Users type Vietnamese with or without accents, in teen-code, with stretched
letters and emoji.  Everything the classifier and the safety net see goes
through :func:`normalize` so that ``toi bi ck danh``, ``Tôi bị chồng đánh`` and
``tôi bị ckkk đánhhh 😭`` end up as the same token sequence.  Training and
parsing call the very same function, so the model never sees a form that the
parser would not produce.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# --- accents -----------------------------------------------------------------

#: Combining marks that carry the tone (huyền, sắc, hỏi, ngã, nặng).
_TONE_MARKS = {"\u0300", "\u0301", "\u0309", "\u0303", "\u0323"}
_VOWELS = set("aeiouy")
#: Letters that already carry a vowel modifier (â, ă, ê, ô, ơ, ư) take the tone.
_MODIFIED = {"\u0302", "\u0306", "\u031b"}


def fold(text: str) -> str:
    """Strip every diacritic (``đ`` → ``d``) so accented and unaccented text meet."""
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.replace("đ", "d").replace("Đ", "D")


def _place_tone(word: str) -> str:
    """Re-place a syllable's tone mark on the vowel the old ('hòa') style uses.

    Keyboards disagree (``hoà`` vs ``hòa``, ``thuỷ`` vs ``thủy``); the national
    list of communes uses the old style, so we do too.
    """
    decomposed = unicodedata.normalize("NFD", word)
    tone = ""
    letters: list[list[str]] = []  # each: [base, *modifiers]
    for ch in decomposed:
        if ch in _TONE_MARKS:
            tone = ch
        elif unicodedata.combining(ch) and letters:
            letters[-1].append(ch)
        else:
            letters.append([ch])
    if not tone:
        return word
    bases = [lt[0].lower() for lt in letters]
    vowel_idx = [i for i, b in enumerate(bases) if b in _VOWELS]
    if not vowel_idx:
        return word
    # "qu" and "gi" count as consonants when another vowel follows.
    if (
        len(vowel_idx) > 1
        and vowel_idx[0] == 1
        and ((bases[0] == "q" and bases[1] == "u") or (bases[0] == "g" and bases[1] == "i"))
    ):
        vowel_idx = vowel_idx[1:]
    # Only the first contiguous vowel cluster matters.
    cluster = [vowel_idx[0]]
    for i in vowel_idx[1:]:
        if i == cluster[-1] + 1:
            cluster.append(i)
    modified = [i for i in cluster if any(m in _MODIFIED for m in letters[i][1:])]
    if modified:
        target = modified[-1]
    elif len(cluster) == 1:
        target = cluster[0]
    elif cluster[-1] < len(letters) - 1:  # closed syllable: hoàng, toán
        target = cluster[-1]
    elif len(cluster) == 3:
        target = cluster[1]
    else:  # open two-vowel syllable, old style: hòa, thủy, mái
        target = cluster[0]
    letters[target].append(tone)
    out = "".join("".join(lt) for lt in letters)
    return unicodedata.normalize("NFC", out)


_WORD_RE = re.compile(r"\w+", re.UNICODE)


def normalize_tones(text: str) -> str:
    """NFC plus one tone-mark placement, keeping accents (for display matching)."""
    text = unicodedata.normalize("NFC", text)
    return _WORD_RE.sub(lambda m: _place_tone(m.group(0)), text)


# --- emoji -------------------------------------------------------------------

#: The few emoji that carry meaning for this bot; every other symbol is dropped.
EMOJI_WORDS = {
    "🆘": " sos ",
    "🚨": " sos ",
    "🔪": " dao ",
    "🗡": " dao ",
    "🔫": " sung ",
    "🩸": " chay mau ",
    "👋": " chao ",
    "👍": " ok ",
    "👌": " ok ",
    "👎": " khong ",
    "❌": " khong ",
    "✅": " ok ",
    "🙏": " ",
}


def _is_symbol(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat.startswith("S") or cat in ("Cs", "Co", "Cn", "Mn", "Me", "Cf")


# --- teen-code ---------------------------------------------------------------

#: Folded token → expansion.  Applied after folding, so ``đc`` and ``dc`` agree.
TEENCODE: dict[str, str] = {
    "ko": "khong",
    "k": "khong",
    "kh": "khong",
    "hok": "khong",
    "hk": "khong",
    "hong": "khong",
    "khum": "khong",
    "hem": "khong",
    "kg": "khong",
    "khg": "khong",
    "hum": "khong",
    "khog": "khong",
    "khôg": "khong",
    "dc": "duoc",
    "dk": "duoc",
    "dcj": "duoc",
    "duoc": "duoc",
    "dx": "duoc",
    "ck": "chong",
    "chg": "chong",
    "ckong": "chong",
    "ckg": "chong",
    "vk": "vo",
    "e": "em",
    "a": "anh",
    "c": "chi",
    "b": "ban",
    "j": "gi",
    "ji": "gi",
    "zi": "gi",
    "ntn": "nhu the nao",
    "sao": "sao",
    "z": "vay",
    "zay": "vay",
    "zậy": "vay",
    "dz": "vay",
    "r": "roi",
    "rui": "roi",
    "ruj": "roi",
    "ms": "moi",
    "mk": "minh",
    "mik": "minh",
    "mjk": "minh",
    "mjnh": "minh",
    "mh": "minh",
    "ng": "nguoi",
    "ngta": "nguoi ta",
    "nt": "nhan tin",
    "ib": "nhan tin",
    "cx": "cung",
    "cg": "cung",
    "vs": "voi",
    "ns": "noi",
    "nc": "noi chuyen",
    "bn": "bao nhieu",
    "bh": "bay gio",
    "bjo": "bay gio",
    "bgio": "bay gio",
    "h": "gio",
    "trc": "truoc",
    "tr": "troi",
    "lm": "lam",
    "vc": "viec",
    "ntin": "nhan tin",
    "dt": "dien thoai",
    "dthoai": "dien thoai",
    "sdt": "so dien thoai",
    "dth": "dien thoai",
    "ny": "nguoi yeu",
    "gd": "gia dinh",
    "gđ": "gia dinh",
    "bm": "bo me",
    "bme": "bo me",
    "mn": "moi nguoi",
    "mng": "moi nguoi",
    "tl": "tra loi",
    "ad": "admin",
    "ak": "a",
    "ah": "a",
    "uk": "u",
    "uh": "u",
    "um": "u",
    "uhm": "u",
    "uki": "u",
    "oke": "ok",
    "okie": "ok",
    "oki": "ok",
    "okay": "ok",
    "okela": "ok",
    "oce": "ok",
    "okla": "ok",
    "tks": "thanks",
    "thx": "thanks",
    "thank": "thanks",
    "ty": "thanks",
    "camon": "cam on",
    "cmon": "cam on",
    "bik": "biet",
    "bit": "biet",
    "bjk": "biet",
    "bjet": "biet",
    "wa": "qua",
    "ntnao": "nhu the nao",
    "nhiu": "nhieu",
    "iu": "yeu",
    "hc": "hoc",
    "ktra": "kiem tra",
    "cty": "cong ty",
    "tp": "thanh pho",
    "tphcm": "thanh pho ho chi minh",
    "hcm": "ho chi minh",
    "sg": "sai gon",
    "pls": "please",
    "plz": "please",
    "u": "u",
    "ur": "your",
    "sos": "sos",
    "ok": "ok",
    "okk": "ok",
    "oklah": "ok",
    "bth": "binh thuong",
    "bthg": "binh thuong",
    "dag": "dang",
    "dg": "dang",
    "đg": "dang",
    "dang": "dang",
    "tui": "toi",
    "t": "toi",
    "tao": "tao",
    "m": "may",
    "ms.": "moi",
    "hix": "huhu",
    "hic": "huhu",
    "huhuhu": "huhu",
    "bs": "bac si",
    "csgt": "canh sat giao thong",
    "lhpn": "hoi lien hiep phu nu",
    "hlhpn": "hoi lien hiep phu nu",
    # Southern / spoken spellings typed without accents.
    "dzay": "vay",
    "dzi": "gi",
    "nghen": "nhe",
    "nhen": "nhe",
    "bjt": "biet",
    "thiet": "that",
}

#: Accented words of the South or of speech, mapped before folding.  Only words
#: whose accented form is unambiguous: ``ổng`` is "ông ấy" (he) but ``ông`` is
#: "grandfather/Mr", so the unaccented ``ong`` is left alone.
DIALECT: dict[str, str] = {
    "ổng": "ong ay",
    "bả": "ba ay",
    "hổng": "khong",
    "hông": "khong",
    "hổm": "hom",
    "dzậy": "vay",
    "zậy": "vay",
    "vầy": "vay",
    "dzị": "vay",
    "thiệt": "that",
    "má": "me",
    "tía": "bo",
    "rượt": "duoi",
    "mần": "lam",
    "dìa": "ve",
    "vô": "vao",
    "dzô": "vao",
    "bển": "ben do",
    "dzới": "voi",
    "nghen": "nhe",
    "nhen": "nhe",
}

#: ``bt`` is "biết" after a negation or a verb of wanting, else "bình thường".
_BT_BIET_BEFORE = {
    "khong",
    "chua",
    "muon",
    "can",
    "de",
    "da",
    "se",
    "cho",
    "dc",
    "duoc",
    "em",
    "toi",
    "minh",
    "ai",
    "nao",
}

#: Folded words that legitimately hold a doubled letter, kept when de-stretching.
_DOUBLE_OK = {
    "cuu",
    "huu",
    "luu",
    "muu",
    "nguu",
    "buu",
    "khuu",
    "tuu",
    "xoong",
    "boong",
    "soong",
    "see",
    "too",
    "good",
    "need",
    "kill",
    "feel",
    "sorry",
    "free",
    "all",
    "will",
    "tell",
    "call",
    "hello",
    "door",
    "room",
    "food",
    "week",
    "apply",
    "stuff",
    "cannot",
    "still",
    "off",
    "staff",
    "address",
    "happen",
    "happened",
    "bleeding",
    "keep",
    "sleep",
    "soon",
    "agree",
    "support",
    "scared",
    "well",
    "shall",
    "small",
    "afternoon",
    "weed",
    "speed",
    "bully",
    "hurry",
    "worry",
    "worried",
    "abuse",
    "bitter",
    "better",
    "letter",
    "matter",
    "little",
    "tomorrow",
    "goodbye",
    "shopping",
    "killing",
    "yess",
    "balloon",
    "book",
    "look",
    "took",
    "school",
    "pool",
    "feeling",
    "meet",
    "meeting",
    "needed",
}

_RUN3_RE = re.compile(r"(\w)\1{2,}")
_RUN2_RE = re.compile(r"([^\W\d])\1+")
_SPACE_RE = re.compile(r"\s+")
_APOSTROPHE_RE = re.compile(r"(?<=[A-Za-z])['’](?=[A-Za-z])")
_TOKEN_RE = re.compile(r"[a-z0-9]+")


def _destretch_token(tok: str) -> str:
    """``cuuuuu`` → ``cuu``, ``helppp`` → ``help``, ``nooo`` → ``no``."""
    if not _RUN3_RE.search(tok):
        return tok
    two = _RUN3_RE.sub(lambda m: m.group(1) * 2, tok)
    if two in _DOUBLE_OK:
        return two
    one = _RUN2_RE.sub(lambda m: m.group(1), two)
    return one if one not in {"se", "to", "fel", "ned"} else two


_BN_BAN_BEFORE = {
    "chao",
    "hi",
    "hello",
    "voi",
    "cua",
    "on",
    "cho",
    "giup",
    "hoi",
    "nhe",
    "ad",
    "oi",
    "cam",
}
_BN_BAN_AFTER = {"oi", "co", "la", "nhe", "nha", "a", "ak", "oiii", "biet", "giup", "cho", "lam"}
#: English words after which "a" is the article, not teen-code for "anh".
_EN_BEFORE_ARTICLE = {
    "with",
    "has",
    "have",
    "had",
    "got",
    "is",
    "was",
    "am",
    "in",
    "on",
    "at",
    "for",
    "of",
    "to",
    "need",
    "want",
    "get",
    "find",
    "like",
    "as",
    "such",
    "be",
    "holding",
    "hold",
    "took",
    "take",
    "grabbed",
    "and",
    "there",
    "theres",
    "its",
    "im",
    "hes",
    "shes",
    "about",
    "from",
    "into",
    "what",
    "use",
    "give",
    "me",
}


#: Folded Vietnamese syllables that are also English words ("anh mẹ", "anh số").
_VI_AMBIGUOUS = {
    "me",
    "so",
    "to",
    "hi",
    "no",
    "go",
    "bad",
    "con",
    "an",
    "ban",
    "hay",
    "dam",
    "tin",
    "ta",
}


def _expand_teencode(tokens: list[str]) -> list[str]:
    out: list[str] = []
    for i, tok in enumerate(tokens):
        if tok == "bt":
            prev = tokens[i - 1] if i else ""
            out.append("biet" if TEENCODE.get(prev, prev) in _BT_BIET_BEFORE else "binh thuong")
            continue
        if tok == "v":
            # "v" ends a question ("sao v", "lam gi v") far more often than it means "vợ".
            out.append(
                "vay" if i == len(tokens) - 1 or tokens[i + 1] in {"a", "ah", "ak"} else "vo"
            )
            continue
        if tok == "z" or tok == "zay":
            out.append("vay")
            continue
        if tok == "bn":
            # "bn" is "bạn" after a greeting/preposition or before "ơi", else "bao nhiêu".
            prev = TEENCODE.get(tokens[i - 1], tokens[i - 1]) if i else ""
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
            out.append("ban" if prev in _BN_BAN_BEFORE or nxt in _BN_BAN_AFTER else "bao nhieu")
            continue
        if tok == "ty":
            # "ty" alone is "thank you"; "công ty", "tỷ giá" are not.
            out.append(
                "thanks"
                if i == 0
                and len(tokens) <= 3
                and (len(tokens) == 1 or tokens[1] not in {"gia", "le"})
                else tok
            )
            continue
        if tok == "a" and (
            (i and tokens[i - 1] in _EN_BEFORE_ARTICLE)
            or (
                i + 1 < len(tokens)
                and tokens[i + 1] in _EN_WORDS
                and tokens[i + 1] not in _VI_AMBIGUOUS
            )
        ):
            out.append("a")  # English article ("with a bat"), not "anh"
            continue
        out.append(TEENCODE.get(tok, tok))
    return out


def clean(text: str) -> str:
    """NFC, one tone placement, emoji mapped or dropped, whitespace collapsed.

    Keeps accents and case-folded letters: used where the accented form still
    matters (language guess, area names).
    """
    text = unicodedata.normalize("NFC", text)
    if any(ch in EMOJI_WORDS for ch in text):
        for emo, word in EMOJI_WORDS.items():
            text = text.replace(emo, word)
    text = _APOSTROPHE_RE.sub("", text)  # "can't" → "cant", not "can" + teen-code "t"
    text = "".join(" " if _is_symbol(ch) else ch for ch in text)
    text = normalize_tones(text.lower())
    return _SPACE_RE.sub(" ", text).strip()


#: Accented spellings that are still teen-code (``đc`` is "được", but ``ạ`` is not "anh").
_ACCENTED_TEENCODE = {"dc", "dk", "dg", "gd", "zay", "dcj"}


@lru_cache(maxsize=4096)
def _normalize_cached(text: str) -> tuple[str, str]:
    tokens: list[str] = []
    accented_forms: list[
        str | None
    ] = []  # the accented word, when it is a real word, not teen-code
    for raw in _WORD_RE.findall(clean(text)):
        dialect = DIALECT.get(raw)
        if dialect is not None:
            for piece in dialect.split():
                tokens.append(piece)
                accented_forms.append(None)
            continue
        folded = fold(raw)
        accented = folded != raw
        pieces = _TOKEN_RE.findall(folded)
        for piece in pieces:
            # Stretched letters are judged before teen-code, so "ckkk" → "ck".
            piece = _RUN3_RE.sub(lambda m: m.group(1), _destretch_token(piece))
            tokens.append(piece)
            if accented and piece not in _ACCENTED_TEENCODE:
                accented_forms.append(
                    _RUN3_RE.sub(lambda m: m.group(1), raw) if len(pieces) == 1 else piece
                )
            else:
                accented_forms.append(None)
    expanded = _expand_teencode(tokens)
    plain = " ".join(
        tok if acc else exp for tok, exp, acc in zip(tokens, expanded, accented_forms, strict=True)
    )
    rich = " ".join(acc or exp for exp, acc in zip(expanded, accented_forms, strict=True))
    return plain, rich


def normalize(text: str) -> str:
    """Full pipeline: clean → fold accents → de-stretch → expand teen-code.

    Returns lower-case ASCII words separated by single spaces; punctuation is
    dropped.  Both the classifier and the safety net read this form.
    """
    return normalize_both(text)[0]


def normalize_both(text: str) -> tuple[str, str]:
    """(folded, accented) forms: the same tokens, the second keeping the accents users typed.

    The accented form lets the word features tell ``dừng`` (stop) from
    ``đúng`` (right) when the user did type accents; teen-code is expanded in both.
    """
    if len(text) > 4000:
        return _normalize_cached.__wrapped__(text)
    return _normalize_cached(text)


_VI_LETTERS = set("ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ")

#: Common English words that are not also plain Vietnamese syllables.
_EN_WORDS = set(
    """i you he she it we they my your his her our their me him us them is are was were
    be been am what when where why how who which can could would should will shall do does did
    have has had not no yes please help hello hi hey thanks thank bye goodbye want need
    know about with from for of and or but if this that there here now today tonight right
    speak english vietnamese language talk person human someone somebody counsellor counselor
    husband wife boyfriend partner ex father mother mom dad child kids kid son daughter sister
    brother neighbour neighbor friend family police hotline shelter safe safety unsafe danger
    scared afraid hurt hit hits hitting beat beats beating kill kills killing knife gun locked
    bleeding choke choking strangle threaten threatened threatens attack attacked abuse abused
    abusive violence violent rape raped forced money control controls stalk stalking follows
    law laws legal rights right divorce custody property order protection lawyer court
    report reporting delete erase remove data chat history forget conversation private
    confidential anonymous secret stored store read reads find out stop cancel end quit menu
    options what's can't won't don't i'm he's she's it's i've weather price gold football
    match homework game movie song recipe joke okay sure yeah yep nope never maybe later
    morning night bad good fine great very really just again also still going gonna get got
    call phone number where's any some my am so tell give show let make go come take me
    every always sometimes often drunk drinks shout shouts yell yells insult insults calls
    leave leaving plan pack bag documents hide hiding account messages screen bruise bruises
    doctor hospital medical counselling counseling support services service women union
    free near nearby go out outside house home room door""".split()
)
_VI_WORDS = set(
    """toi em anh chi chong vo khong co bi la cua minh duoc dang roi nha con me bo ba
    gi sao nao the nhu lam muon biet hoi giup voi cho va nhung nhieu lam dau khi neu thi
    ma de ra vao di den o tai hom nay mai qua nua chua vay nhe nha a oi u vang da danh
    chui mang doa giet cuu luat quyen ly hon phap an toan dich vu tu van duong day nong
    xa phuong tinh thanh pho xin chao cam on tam biet dung lai huy ket thuc tieng viet noi
    nguoi that can hay thuong say ruou tien dien thoai tin nhan xoa du lieu bao mat""".split()
)


def guess_language(text: str) -> str:
    """Best guess between ``vi`` and ``en`` from diacritics and common words.

    Defaults to ``vi``: the bot only switches to English on a clear signal.
    """
    sample = text[:1000].lower()
    if any(ch in _VI_LETTERS for ch in sample):
        return "vi"
    tokens = re.findall(r"[a-z']+", fold(sample))
    en = sum(1 for t in tokens if t in _EN_WORDS)
    vi = sum(1 for t in tokens if t in _VI_WORDS or TEENCODE.get(t, "") in _VI_WORDS)
    return "en" if en > vi and en >= 1 else "vi"
