import pytest

from nlu.normalize import fold, guess_language, normalize, normalize_tones


def test_accented_and_unaccented_meet():
    assert normalize("Tôi bị chồng đánh") == normalize("toi bi chong danh") == "toi bi chong danh"
    assert fold("Đường dây nóng") == "Duong day nong"


def test_decomposed_unicode_is_composed_first():
    decomposed = "cu\u031b\u0301u" + " to\u0302i"  # "cứu tôi" typed with combining marks
    assert normalize(decomposed) == "cuu toi"


@pytest.mark.parametrize(
    ("old", "new"), [("hòa", "hoà"), ("thủy", "thuỷ"), ("khỏe", "khoẻ"), ("Thanh Hóa", "Thanh Hoá")]
)
def test_both_tone_placements_agree(old: str, new: str):
    assert normalize_tones(new) == normalize_tones(old) == old


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ck e ko cho e di lam", "chong em khong cho em di lam"),
        ("vk ck", "vo chong"),
        ("k dc", "khong duoc"),
        ("đc hok", "duoc khong"),
        ("e k bt lam j", "em khong biet lam gi"),
        ("ntn", "nhu the nao"),
        ("sao v", "sao vay"),
        ("a oi", "anh oi"),
    ],
)
def test_teencode_is_expanded(text: str, expected: str):
    assert normalize(text) == expected


def test_accented_particles_are_not_teencode():
    # "ạ" (politeness particle) must not become "anh", "à" must not either.
    assert normalize("dạ vâng ạ") == "da vang a"
    assert normalize("Ko dc đâu a") == "khong duoc dau anh"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cứuuuuu", "cuu"),
        ("cuuuuuu", "cuu"),
        ("ckkkk", "chong"),
        ("helppppp", "help"),
        ("nooooo", "no"),
        ("điiii", "di"),
    ],
)
def test_stretched_letters(text: str, expected: str):
    assert normalize(text) == expected


def test_emoji_mapped_or_dropped():
    assert normalize("🆘") == "sos"
    assert normalize("nó cầm 🔪") == "no cam dao"
    assert normalize("buồn quá 😭😭😭 ❤️") == "buon qua"
    assert normalize("😭" * 500) == ""


def test_language_guess():
    assert guess_language("my husband hits me, what can I do") == "en"
    assert guess_language("speak english please") == "en"
    assert guess_language("tôi bị chồng đánh") == "vi"
    assert guess_language("toi bi ck danh") == "vi"
    assert guess_language("ok") == "vi"  # no clear signal: stay in Vietnamese


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ổng đánh tui", "ong ay danh toi"),
        ("bả bị ổng rượt", "ba ay bi ong ay duoi"),
        ("hông có dzậy đâu", "khong co vay dau"),
        ("má chồng", "me chong"),
        ("chào bn", "chao ban"),
        ("bn tuổi", "bao nhieu tuoi"),
        ("em đang ở công ty", "em dang o cong ty"),
        ("ty", "thanks"),
        ("he has a knife", "he has a knife"),
        ("recommend a movie", "recommend a movie"),
    ],
)
def test_southern_words_and_context_dependent_teencode(text: str, expected: str):
    assert normalize(text) == expected
