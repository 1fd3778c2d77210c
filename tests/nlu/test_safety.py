"""The emergency net: danger must reach the 113 answer; talk about danger must not."""

import pytest

from nlu.engine import EmbeddedBackend
from nlu.safety import is_emergency

MUST_FIRE = [
    "cứu tôi với",
    "cuu toi voi",
    "cứuuuu emmm",
    "cuu e vs",
    "ai cứu em với",
    "sos",
    "SOS SOS",
    "🆘",
    "help me please",
    "save me",
    "ck dang danh e",
    "ck dg danh e",
    "chồng đang đánh tôi",
    "anh ta đang đánh em dữ lắm",
    "bố đang đánh mẹ cháu",
    "bo dang danh me chau",
    "hàng xóm đang đánh vợ, chị ấy kêu cứu",
    "he has a knife",
    "he's got a gun",
    "my husband is hitting me",
    "he is choking me",
    "he locked me in the room",
    "i'm bleeding",
    "anh ta doa giet toi dem nay",
    "anh ta dọa giết tôi đêm nay",
    "tối nay nó về sẽ giết em",
    "he will kill me tonight",
    "bi nhot trong phong",
    "em bị nhốt trong nhà vệ sinh",
    "chay mau nhieu lam",
    "đầu em đang chảy máu",
    "bop co",
    "ck bop co e",
    "anh ta siết cổ em",
    "nó cầm dao đứng ngoài cửa",
    "no cam dao",
    "chồng cầm 🔪 đuổi em",
    "em không thở được",
    "i can't breathe",
    "mẹ em bị đánh ngất rồi",
    "gọi công an giúp em",
    "call the police now",
    "ngay bây giờ em đang gặp nguy hiểm",
    "i'm in danger right now",
    "anh ta tưới xăng dọa đốt nhà",
    "em định tự tử",
    "nó đang phá cửa vào",
    "em đang trốn trong nhà vệ sinh",
    # Fixed against heldout_b / known weak spots: no obvious keyword, Southern speech,
    # a neighbour's knife.
    "he is outside my door",
    "ck cu dang dung truoc nha",
    "he's outside the door with a bat",
    "hàng xóm cầm dao",
    "hang xom cam dao chem vo",
    "nó đang đập cửa phòng",
    "em trốn trong tủ",
    "ổng cầm cây đòi đánh chết tui",
    "ck e say ve dap cua doi vao",
    "e bi ck khoa trong phong, ko ra dc",
    "113 ơi",
    "ck dọa ôm con chết chung",
    "bả bị ổng đánh nằm bất động",
    "bé đang khóc thét bị bố đánh",
    "hôm qua nó đánh em, giờ nó lại cầm dao",
    "he's on top of me",
    "chồng đang đá em",
]

MUST_NOT_FIRE = [
    "tôi muốn biết luật về đánh vợ",
    "đánh vợ bị phạt bao nhiêu tiền",
    "bop co vo thi bi xu ly the nao",
    "chồng cầm dao dọa vợ thì bị tội gì",
    "chồng tôi hay đánh tôi khi say",
    "ck hay danh e moi lan say",
    "hôm qua chồng đánh em",
    "năm ngoái anh ấy từng bóp cổ em",
    "hồi trước chồng từng cầm dao dọa em",
    "hàng xóm đánh vợ",
    "hang xom hay danh vo",
    "bạn em bị chồng nhốt trong nhà hồi tuần trước",
    "nếu chồng cầm dao thì em nên làm gì",
    "what should i do if he has a knife",
    "is it illegal to hit your wife",
    "my husband hit me last week",
    "he used to choke me",
    "tôi đang tìm hiểu về bạo lực gia đình",
    "em đang làm nghiên cứu về bạo lực gia đình",
    "túi đồ khẩn cấp gồm những gì",
    "help",
    "what can you do",
    "xin chào",
    "cảm ơn",
    "bộ phim có cảnh giết người",
    "làm sao để báo công an mà không lộ danh tính",
    # "đang" alone is not danger; ambiguous folded verbs need a victim.
    "tôi đang ở nhà mẹ",
    "em đang nhắn với bạn",
    "tui đang bán hàng",
    "em đang cắt rau",
    "em đang đá bóng",
    "em đang đánh răng",
    "em đang bận con nhỏ",
    "chồng em đang ở tù",
    "mẹ em đang đứng trước cửa",
    "em bị ngắt kết nối",
    "chồng tôi cầm cây chổi quét nhà",
    "báo công an thì chồng có bị bắt không",
    "hồi tết chồng nhốt em trong nhà",
    "em đang ở nhà mẹ, hồi tết chồng em nhốt em",
    "hàng xóm hay cầm dao dọa vợ",
    "trốn trong nhà tắm có an toàn không",
    "mua bất động sản",
]


@pytest.mark.parametrize("text", MUST_FIRE)
def test_net_fires(text: str, backend: EmbeddedBackend):
    assert is_emergency(text)
    result = backend.parse_sync(text)
    assert result["intent"] == {"name": "emergency", "confidence": 1.0}
    assert result["intent_ranking"][0] == {"name": "emergency", "confidence": 1.0}
    assert len({r["name"] for r in result["intent_ranking"]}) == len(result["intent_ranking"])


@pytest.mark.parametrize("text", MUST_NOT_FIRE)
def test_net_stays_quiet(text: str):
    assert not is_emergency(text)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("tôi muốn biết luật về đánh vợ", "ask_rights"),
        ("chồng tôi hay đánh tôi khi say", "disclose_abuse"),
        ("hàng xóm đánh vợ", "report_concern"),
    ],
)
def test_talk_about_violence_gets_its_own_intent(text: str, intent: str, backend: EmbeddedBackend):
    assert backend.parse_sync(text)["intent"]["name"] == intent


@pytest.mark.parametrize(
    "text", ["tôi đang ở nhà mẹ", "em đang ở nhà", "em đang ly thân", "em đang ở công ty"]
)
def test_dang_alone_is_not_an_emergency(text: str, backend: EmbeddedBackend):
    result = backend.parse_sync(text)
    assert result["intent"]["name"] != "emergency"
    assert "safety_net" not in result


def test_net_marks_its_result(backend: EmbeddedBackend):
    assert backend.parse_sync("he is outside my door")["safety_net"] is True


def test_cry_for_help_at_the_end_of_a_long_message():
    text = "em muốn hỏi về luật ly hôn và quyền nuôi con. " * 200 + "nhưng bây giờ cứu em với"
    assert len(text) > 9000
    assert is_emergency(text)


# Words that fold onto cứu / đánh / chết / giết / dao / máu and are not danger.
LOOK_ALIKES = [
    "nghiên cứu",
    "em đang làm nghiên cứu về trẻ em",
    "nghien cuu khoa hoc",
    "bảng cửu chương",
    "bang cuu chuong",
    "cựu sinh viên",
    "hội cựu chiến binh",
    "cuu sinh vien",
    "cuu giam doc",
    "con cừu",
    "con cuu",
    "thịt cừu",
    "cứu hộ giao thông",
    "cuu ho",
    "đội cứu hỏa",
    "cứu trợ lũ lụt",
    "Phường An Cựu",
    "phuong an cuu",
    "Xã Cửu An",
    "xa cuu an",
    "Xã Khả Cửu",
    "Phường Hưng Đạo",
    "Xã Ba Đình",
    "em ở phường An Cựu",
    "đánh răng",
    "đánh giá sản phẩm",
    "danh gia giup e",
    "đánh máy",
    "đánh cầu lông",
    "xe bị chết máy",
    "chet may roi",
    "giết thời gian",
    "giet thoi gian",
    "từ từ thôi",
    "tu tu thoi em",
    "đi dạo",
    "đạo đức",
    "màu đỏ",
    "mẫu đơn",
    "dao kéo thẩm mỹ",
    "bóp cổ tay",
    "xoa bóp cổ vai gáy",
    "nhốt gà vào chuồng",
    "chảy máu cam",
    "mẹ đang cầm dao thái rau",
    "help me choose a gift",
    "please help me write an email",
    "urgent: the report is due",
    "emergency meeting at 3",
    "I need a new bread knife",
    "hot glue gun",
    "I'm stuck in traffic right now",
    "in danger of failing the course",
    "the blood test came back fine",
    "I'm choking on this spicy noodle haha",
    "the kids are screaming with joy",
    "he's hitting the gym every day",
    "they're at the door singing carols",
    "the baby is screaming, she's teething",
    "I'm bleeding money on this car",
    "the gun salute was loud",
    "anh ấy đứng ngoài cổng chờ taxi",
    "bố đang cầm búa đóng kệ sách",
    "trèo cây nguy hiểm quá",
    "cứu tôi cái deadline này",
    "she's choking back tears",
    "ông cầm rựa ra vườn chặt chuối",
    "bé cầm dao nhựa chơi đồ hàng",
    "con em bị ngã chảy máu đầu gối chút xíu",
    "giết con chuột trong bếp",
]

MUST_FIRE_TOO = [
    "cuu toi voi",
    "cuu em",
    "cứu em",
    "CỨU EM",
    "cuu",
    "ck dang cam dao",
    "ck dg cầm dao",
    "giúp em với!!!",
    "nó đuổi theo em",
    "em đang ở ngoài đường, nó đuổi theo em",
    "help me",
    "help me please he is drunk",
    "save us",
    "urgent help",
    "khẩn cấp",
    "i'm in danger",
    "my kids are in danger",
    "cứu em, em ở phường An Cựu",
    "he has a kitchen knife",
    "he's holding a knife to my throat",
    "mẹ ơi cứu con",
    "ck đang cầm dao thái thịt dọa giết em",
    "nó cầm dao đuổi em",
    "ổng cầm rựa chặt cửa phòng em",
    "nó cầm dao cắt tay em",
    "he's choking me",
    "my ex is at the door",
    "my husband is outside the house",
    "ck cu dang dung truoc cong",
    "anh ta đứng ngoài cửa nhà em từ chiều",
    "he pulled a gun",
    "he has a gun to my head",
    "she is screaming for help",
    "em nguy hiểm quá",
    "nguy hiểm quá",
    "help me get out of here",
    "please help me!!!",
    "somebody help me",
    "help me, my husband is drunk",
]


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alikes_do_not_fire(text: str):
    assert not is_emergency(text)


@pytest.mark.parametrize("text", MUST_FIRE_TOO)
def test_every_danger_phrasing_still_fires(text: str):
    assert is_emergency(text)


def test_no_commune_or_ward_name_fires():
    """3,321 official 2025 names, as written and without accents, bare and in a sentence."""
    from vietnam_provinces import Ward

    from nlu.normalize import fold

    fired = []
    for ward in Ward.iter_all():
        for form in (ward.name, fold(ward.name), f"em ở {ward.name}", f"nha e o {fold(ward.name)}"):
            if is_emergency(form):
                fired.append(form)
    assert fired == []
