"""Short texts of the handoff layer.

Team-side texts are bilingual on one line (Vietnamese / English): members are
Vietnamese, partners' staff may not be. User-side texts belong to the flows in
``responses/``; the ``FALLBACK`` entries below are only used if a node is
missing there, so that she is never left without an answer.
"""

from __future__ import annotations

from datetime import datetime

from handoff.teams import VN_TZ
from responses.labels import label

ATTACHMENT_VI = {
    "photo": "một ảnh",
    "sticker": "một nhãn dán",
    "voice": "một tin nhắn thoại",
    "audio": "một tệp âm thanh",
    "video": "một video",
    "video_note": "một video",
    "document": "một tệp",
    "location": "một vị trí",
    "contact": "một danh bạ",
    "animation": "một ảnh động",
}
ATTACHMENT_EN = {
    "photo": "a photo",
    "sticker": "a sticker",
    "voice": "a voice message",
    "audio": "an audio file",
    "video": "a video",
    "video_note": "a video",
    "document": "a file",
    "location": "a location",
    "contact": "a contact",
    "animation": "a GIF",
}


def tag(alias: str) -> str:
    return f"#{alias}"


def when(moment: datetime) -> str:
    return moment.astimezone(VN_TZ).strftime("%H:%M %d/%m")


# ---- team side -----------------------------------------------------------

TAKE_LABEL = "Nhận / Take"


def topic_names(topic: str | None) -> str:
    """The topic she picked, named in both languages (never the internal code)."""
    if not topic:
        return "—"
    vi, en = label("topic", topic, "vi"), label("topic", topic, "en")
    return vi if vi == en else f"{vi} / {en}"


SAFE_NOW = {
    "yes": "an toàn, nói chuyện được / safe to talk",
    "short": "chỉ tin ngắn, kín đáo / short, neutral messages only",
    "no": "KHÔNG an toàn lúc này — chờ cô ấy nhắn trước / NOT safe now: wait for her to write",
}


def safe_line(safe_now: str | None) -> str:
    answer = SAFE_NOW.get(safe_now or "", "chưa trả lời / not answered")
    return f"An toàn để nói chuyện? / Safe to talk now? {answer}"


def card(
    alias: str,
    area: str,
    language: str,
    topic: str | None,
    since: datetime,
    note: str = "",
    *,
    extra: list[str] | None = None,
) -> str:
    lines = [
        f"🆘 Yêu cầu mới / New request {tag(alias)}",
        f"Khu vực / Area: {area or '—'}",
        f"Ngôn ngữ / Language: {language}",
        f"Chủ đề / Topic: {topic_names(topic)}",
        f"Chờ từ / Waiting since: {when(since)}",
        *(extra or []),
    ]
    if note:
        lines.append(note)
    return "\n".join(lines)


def claim_hint(alias: str, number: int) -> str:
    """Apps without buttons (Zalo Bot Platform): how to take it by text."""
    return (
        f"Nhận: gõ “nhận {alias}” (hoặc “nhận {number}”) / "
        f"To take it, write “take {alias}” (or “take {number}”)"
    )


def transferred_note(from_label: str, member_alias: str | None) -> str:
    who = f" — {member_alias}" if member_alias else ""
    return (
        f"🔀 Chuyển từ / Transferred from {from_label}{who}: "
        "tóm tắt và lịch sử đi kèm / summary and transcript follow"
    )


def first_message_hint(safe_now: str | None) -> str:
    """What the member reads before writing to her, from her answer."""
    if safe_now == "no":
        return (
            "⚠️ Cô ấy nói lúc này KHÔNG an toàn: đừng nhắn trước, chờ cô ấy viết. Nếu phải nhắn, "
            "chỉ một câu ngắn, trung tính. / She said it is NOT safe now: do not write first, "
            "wait for her. If you must, one short, neutral line."
        )
    if safe_now == "short":
        return (
            "⚠️ Chỉ tin ngắn, trung tính (không nhắc bạo lực, không tên tổ). Gợi ý: “Chào chị, "
            "bây giờ chị nhắn được không?” / Keep messages short and neutral (no words about "
            "violence, no team name). E.g. “Hello, can you write now?”"
        )
    return ""


def escalated_note(minutes: int, from_team: str) -> str:
    return (
        f"⏰ Chưa ai nhận sau {minutes} phút ({from_team}) / Unclaimed after {minutes} min "
        f"({from_team})"
    )


def card_taken(alias: str, member_alias: str) -> str:
    return f"✅ {tag(alias)} — đã được {member_alias} nhận / taken by {member_alias}"


def card_closed(alias: str) -> str:
    return f"☑️ {tag(alias)} — đã đóng / closed"


def card_requeued(alias: str) -> str:
    return (
        f"↩️ {tag(alias)} — đã trả lại hàng chờ, xem thẻ mới / back in the queue, see the new card"
    )


ALERT_TAKEN_BY_YOU = (
    "Bạn đã nhận yêu cầu này. Xem tin nhắn riêng với bot. / You took it: see your private chat "
    "with the bot."
)
ALERT_ALREADY_TAKEN = "Đã có người nhận. / Someone already took this request."
ALERT_CLOSED = "Yêu cầu này đã đóng. / This request is closed."
ALERT_NOT_MEMBER = (
    "Chỉ thành viên của tổ mới nhận được. / Only members of this team can take requests."
)
ALERT_YOURS_ALREADY = "Yêu cầu này đã là của bạn. / This request is already yours."


def connected(
    alias: str, area: str, language: str, topic: str | None, extra: list[str] | None = None
) -> str:
    more = "".join(f"{line}\n" for line in extra or [])
    return (
        f"🔗 Đã kết nối với {tag(alias)} / Connected with {tag(alias)}\n"
        f"Khu vực / Area: {area or '—'} · {language} · {topic_names(topic)}\n"
        f"{more}"
        "Mọi tin bạn gửi ở đây sẽ đến người đó, ký tên “tổ hỗ trợ” (không có tên bạn). / "
        "What you write here reaches her, signed “the team” (never your name).\n"
        "/end — kết thúc / end the chat · /release — trả lại hàng chờ / give it back\n"
        f"Nhiều cuộc trò chuyện: trả lời (reply) tin của cô ấy, hoặc /to {alias} nội dung / "
        f"Several chats: reply to her message, or /to {alias} text"
    )


def relayed_to_member(alias: str, body: str) -> str:
    return f"{tag(alias)}: {body}"


def held_to_member(alias: str, body: str, at: datetime) -> str:
    return f"{tag(alias)} ({when(at)}, lúc chờ / while waiting): {body}"


def emergency_to_member(alias: str) -> str:
    return (
        f"⚠️ {tag(alias)}: tin nhắn có từ nguy hiểm — bot đã gửi số 113 cho cô ấy. / "
        "Danger words: the bot has shown her 113."
    )


def voice_as_text(body: str) -> str:
    """Her voice message as its transcript: the member knows the words came
    from a machine's hearing and may be wrong."""
    return f"🎤 (giọng nói, máy chuyển thành chữ / voice, machine-transcribed) {body}"


def voice_caption(alias: str) -> str:
    """Caption of her own voice, sent on because she chose so."""
    return f"🎤 {tag(alias)} (cô ấy chọn gửi giọng nói / she chose to send her voice)"


def user_attachment_to_member(kind: str | None) -> str:
    k = kind or "other"
    return (
        f"[cô ấy gửi {ATTACHMENT_VI.get(k, 'một tệp')} — chỉ chuyển được chữ / she sent "
        f"{ATTACHMENT_EN.get(k, 'an attachment')}; only text is relayed]"
    )


def member_attachment_notice_to_member() -> str:
    return (
        "Chỉ chuyển được tin nhắn chữ; cô ấy chỉ được báo là bạn đã gửi tệp. / Only text is "
        "relayed; she was only told you sent an attachment."
    )


def ended_by_user(alias: str) -> str:
    return f"⏹ {tag(alias)}: người đó đã kết thúc cuộc trò chuyện. / The person ended the chat."


def user_left(alias: str) -> str:
    return f"⏹ {tag(alias)}: người đó đã rời đi. / The person left."


def ended_by_member(alias: str) -> str:
    return f"⏹ {tag(alias)}: đã kết thúc. / Chat ended."


def hours_text(hours: float) -> str:
    """1 → "1", 0.5 → "0.5": how the grace period reads in a notice."""
    return f"{hours:g}"


def copies_note(hours: float) -> str:
    """Added to the close notice: when the chat's words leave this chat."""
    h = hours_text(hours)
    return (
        f"Sau {h} giờ, bot sẽ xoá các tin nhắn của cuộc này khỏi chat này "
        f"(Telegram chỉ cho xoá trong 48 giờ). / In {h} h the bot deletes this chat's "
        "messages from this chat (Telegram allows it within 48 hours)."
    )


def conversation_erased(alias: str) -> str:
    """Told to the member when the copies are deleted: neutral, no reason."""
    return (
        f"🧹 {tag(alias)}: cuộc trò chuyện đã được xoá khỏi chat này. / "
        "The conversation was erased from this chat."
    )


def released(alias: str) -> str:
    return f"↩️ {tag(alias)}: đã trả lại hàng chờ. / Given back to the queue."


def unreachable(alias: str) -> str:
    return (
        f"📵 {tag(alias)}: không gửi được tới người đó nữa cho đến khi cô ấy nhắn lại. / "
        "She can no longer be reached until she writes again."
    )


def reachable_again(alias: str) -> str:
    return f"📶 {tag(alias)}: cô ấy đã nhắn lại, có thể trả lời. / She wrote again; you can reply."


def idle_reminder(alias: str, minutes: int) -> str:
    return (
        f"⏳ {tag(alias)}: không có tin nhắn trong {minutes} phút. Gõ /end khi xong. / "
        f"No message for {minutes} min. Send /end when you are done."
    )


def member_never_started(member_alias: str, alias: str) -> str:
    return (
        f"⚠️ Bot không nhắn riêng được cho {member_alias}: hãy mở chat riêng với bot và bấm Start. "
        f"{tag(alias)} đã trở lại hàng chờ. / The bot cannot write to {member_alias} privately: "
        f"open a private chat with the bot and press Start. {tag(alias)} is back in the queue."
    )


NO_OPEN_CHAT = (
    "Bạn không có cuộc trò chuyện nào đang mở. Yêu cầu mới xuất hiện trong nhóm Telegram của tổ. / "
    "You have no open chat. New requests appear in your team group."
)
WHICH_CHAT = (
    "Bạn đang có nhiều cuộc trò chuyện: hãy trả lời (reply) tin của người đó, hoặc /to MÃ nội "
    "dung. / "
    "You have several open chats: reply to her message, or use /to CODE text."
)
UNKNOWN_ALIAS = "Không thấy cuộc trò chuyện mở với mã đó. / No open chat with that code."
TO_USAGE = "Cách dùng / Usage: /to K7Q2 nội dung / text"
HELP = (
    "/list — các cuộc trò chuyện của bạn / your chats\n"
    "/to MÃ nội dung — gửi cho một người / write to one person\n"
    "/end [MÃ] — kết thúc / end · /release [MÃ] — trả lại hàng chờ / give back\n"
    "nhận MÃ / take CODE — nhận một yêu cầu / take a request\n"
    "/tip — mẫu tin (đường dây nóng, quyền, an toàn) / vetted texts · /tip N [MÃ] — gửi / send\n"
    "/transfer TỔ|TÊN [MÃ] — chuyển cho tổ khác hoặc đồng nghiệp / to a team or colleague\n"
    "/on — đang trực / on duty · /off — nghỉ trực / off duty"
)
DUTY_ON = "🟢 Bạn đang trực: thẻ yêu cầu sẽ đến bạn. / You are on duty: request cards reach you."
DUTY_OFF = "⚪ Bạn đã nghỉ trực. / You are off duty."
TIP_USAGE = "Cách dùng / Usage: /tip N [MÃ/CODE]"
TIP_SENT = "✅ Đã gửi mẫu tin. / Tip sent."
TRANSFER_USAGE = "Cách dùng / Usage: /transfer TỔ/TEAM hoặc TÊN/colleague [MÃ/CODE]"
TRANSFER_UNKNOWN = "Không thấy tổ hoặc đồng nghiệp đó. / No such team or colleague."


def tip_menu(items: list[tuple[int, str, str]], language: str) -> str:
    lines = [f"{n}. {label} — {first}" for n, label, first in items] or ["—"]
    return (
        f"Mẫu tin đã duyệt ({language}) / Vetted texts ({language}):\n"
        + "\n".join(lines)
        + "\n/tip N — gửi cho cô ấy / send it to her"
    )


def transferred(alias: str, to: str) -> str:
    return f"🔀 {tag(alias)}: đã chuyển cho {to}. / Transferred to {to}."


def transferred_to_you(alias: str, from_alias: str) -> str:
    return (
        f"🔀 {tag(alias)}: {from_alias} đã chuyển cuộc trò chuyện cho bạn. / "
        f"{from_alias} transferred this chat to you."
    )


def transcript_to_member(alias: str, lines: list[str]) -> str:
    return f"🗒 {tag(alias)} — lịch sử / transcript so far:\n" + "\n".join(lines)


def open_chats(items: list[tuple[str, str]], queued: int) -> str:
    lines = [f"{tag(a)} — {area}" for a, area in items] or ["—"]
    return (
        "Đang mở / Open:\n"
        + "\n".join(lines)
        + f"\nĐang chờ trong tổ / Waiting in your teams: {queued}"
    )


# ---- user side (only when the flows lack a node) ------------------------

FROM_TEAM = {"vi": "Tổ hỗ trợ", "en": "The team"}

MEMBER_ATTACHMENT_TO_USER = {
    "vi": "[Tổ hỗ trợ đã gửi một tệp, nhưng chỉ chuyển được tin nhắn chữ.]",
    "en": "[The team sent an attachment, but only text can be passed on.]",
}


def flood_notice(count: int) -> str:
    """To every team group, at most once an hour, when requests pour in."""
    return (
        f"⚠️ {count} yêu cầu mới trong một giờ qua: có thể là tin giả hàng loạt. "
        "Mọi yêu cầu vẫn nằm trong hàng chờ trên bảng điều khiển (/team), cũ nhất trước. / "
        f"{count} new requests in the past hour: possibly a flood of fake ones. "
        "Every request is still in the console queue (/team), oldest first."
    )


FALLBACK: dict[str, dict[str, str]] = {
    "handoff_queued": {
        "vi": (
            "Một thành viên của tổ hỗ trợ sẽ trả lời bạn tại đây. Giờ làm việc: {team_hours}. Nếu "
            "bạn đang gặp nguy hiểm, hãy gọi 113."
        ),
        "en": (
            "A member of the support team will reply to you here. Hours: {team_hours}. If you are "
            "in danger, call 113."
        ),
    },
    "handoff_out_of_hours": {
        "vi": (
            "Hiện ngoài giờ làm việc của tổ ({team_hours}). Yêu cầu của bạn vẫn được giữ. Nguy "
            "hiểm: gọi 113."
        ),
        "en": (
            "The team is outside its hours now ({team_hours}). Your request stays in the queue. "
            "In danger: call 113."
        ),
    },
    "handoff_still_waiting": {
        "vi": (
            "Chưa có ai nhận, chúng tôi đang tìm thêm người. Nguy hiểm: gọi 113. {local_contacts}"
        ),
        "en": (
            "No one has taken your request yet; we are asking more people. In danger: call 113. "
            "{local_contacts}"
        ),
    },
    "handoff_connected": {
        "vi": "Một thành viên tổ hỗ trợ đã kết nối. Bạn có thể nhắn ngay bây giờ.",
        "en": "A team member is connected. You can write now.",
    },
    "handoff_closed": {
        "vi": "Cuộc trò chuyện với tổ hỗ trợ đã kết thúc.",
        "en": "The chat with the team has ended.",
    },
    "handoff_share_summary": {
        "vi": (
            "Trước khi kết nối: bạn có đồng ý cho nhóm xem bản tóm tắt ngắn này không? "
            "Không có lời bạn viết.\n{summary}"
        ),
        "en": (
            "Before we connect you: may the team see this short summary? "
            "None of your words are in it.\n{summary}"
        ),
    },
    "handoff_safe_now": {
        "vi": "Bây giờ bạn nói chuyện có an toàn không?",
        "en": "Is it safe for you to talk now?",
    },
    "handoff_nobody_on_duty": {
        "vi": (
            "Nói thật với bạn: lúc này không có ai của nhóm đang trực. Yêu cầu vẫn được giữ. "
            "Nguy hiểm: gọi 113. Cần người nghe ngay: 1900 969 680 (24/7). {local_contacts}"
        ),
        "en": (
            "To be honest with you: no one from the team is on duty right now. Your request is "
            "kept. In danger: call 113. To talk to someone now: 1900 969 680 (24/7). "
            "{local_contacts}"
        ),
    },
    "handoff_wait": {
        "vi": "Bạn đang ở vị trí {position} trong hàng chờ. {usual}",
        "en": "You are number {position} in the queue. {usual}",
    },
    "handoff_unavailable": {
        "vi": "Hiện chưa thể kết nối với tổ hỗ trợ. Nguy hiểm: gọi 113.",
        "en": "We cannot connect you to a team right now. In danger: call 113.",
    },
}


#: Her buttons before connecting and while waiting (payloads the engine hands
#: to the handoff during an open request).
SHARE_BUTTONS = {
    "vi": [("Đồng ý chia sẻ", "ho:share:yes"), ("Không chia sẻ", "ho:share:no")],
    "en": [("Yes, share it", "ho:share:yes"), ("No, don't share", "ho:share:no")],
}
SAFE_BUTTONS = {
    "vi": [
        ("An toàn", "ho:safe:yes"),
        ("Chỉ tin ngắn", "ho:safe:short"),
        ("Không an toàn", "ho:safe:no"),
    ],
    "en": [("Yes", "ho:safe:yes"), ("Short messages only", "ho:safe:short"), ("No", "ho:safe:no")],
}
WAIT_BUTTON = {"vi": "Còn bao lâu?", "en": "How long?"}
USUAL_WAIT = {
    "vi": "Trong 4 tuần qua, một nửa số yêu cầu của nhóm được nhận trong vòng {bound}.",
    "en": "Over the last 4 weeks, half of this team's requests were taken within {bound}.",
}
USUAL_WAIT_UNKNOWN = {
    "vi": "Chúng tôi chưa có đủ số liệu để nói thời gian chờ thường là bao lâu.",
    "en": "We do not have enough data yet to say how long the wait usually is.",
}
NOBODY_NOW = {
    "vi": "Lúc này không có ai của nhóm đang trực.",
    "en": "No one from the team is on duty right now.",
}


def duration(seconds: int, language: str) -> str:
    if seconds >= 3600:
        hours = seconds // 3600
        return f"{hours} giờ" if language == "vi" else f"{hours} hour{'s' if hours > 1 else ''}"
    minutes = max(1, seconds // 60)
    return f"{minutes} phút" if language == "vi" else f"{minutes} minutes"
