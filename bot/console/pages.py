"""Server-rendered HTML of the console (no template engine, every value escaped)."""

from __future__ import annotations

from html import escape
from typing import Any

T: dict[str, dict[str, str]] = {
    "vi": {
        "title": "Bảng điều khiển của tổ",
        "login": "Đăng nhập",
        "login_name": "Tên đăng nhập",
        "password": "Mật khẩu",
        "bad_login": "Sai tên đăng nhập hoặc mật khẩu.",
        "locked": "Quá nhiều lần thử sai. Hãy thử lại sau 15 phút.",
        "slow": "Quá nhiều lần thử từ máy này. Hãy đợi một lát rồi thử lại.",
        "logout": "Đăng xuất",
        "queue": "Hàng chờ",
        "mine": "Cuộc trò chuyện của tôi",
        "empty_queue": "Không có yêu cầu nào đang chờ.",
        "waiting_total": "đang chờ",
        "older": "‹ Cũ hơn",
        "newer": "Mới hơn ›",
        "flood": "Có {n} yêu cầu mới trong một giờ qua: có thể là tin giả hàng loạt. "
        "Mọi yêu cầu vẫn ở đây, chờ lâu nhất trước.",
        "empty_mine": "Bạn chưa nhận cuộc trò chuyện nào.",
        "take": "Nhận",
        "release": "Trả lại hàng chờ",
        "end": "Kết thúc",
        "tips": "Chèn mẫu tin đã duyệt",
        "insert": "Gửi mẫu tin",
        "transfer": "Chuyển cho",
        "do_transfer": "Chuyển",
        "on_duty": "Đang trực — bấm để nghỉ",
        "off_duty": "Nghỉ trực — bấm để trực",
        "send": "Gửi",
        "reply": "Trả lời (gửi dưới tên “Tổ hỗ trợ”)",
        "notes": "Ghi chú riêng của tổ (người dùng không thấy)",
        "add_note": "Lưu ghi chú",
        "pick": "Chọn một cuộc trò chuyện.",
        "stats": "Thống kê",
        "console": "Hàng chờ",
        "area": "Khu vực",
        "language": "Ngôn ngữ",
        "topic": "Chủ đề",
        "waiting": "Chờ",
        "her": "Người hỏi",
        "team": "Tổ",
        "note": "Ghi chú",
        "closed": "Đã kết thúc",
        "left": "Người đó đã rời đi.",
        "no_team": "Tài khoản này không thuộc tổ nào trong tệp tổ.",
        "conversations": "Cuộc trò chuyện mỗi ngày",
        "intents": "Ý định",
        "handoffs": "Chuyển cho tổ: yêu cầu / đã nhận",
        "requested": "yêu cầu",
        "claimed": "đã nhận",
        "median": "Thời gian nhận (trung vị)",
        "out_of_hours": "Ngoài giờ",
        "small": "Số từ 1 đến 4 được hiện là “< 5” và không tính vào tổng; các số khác "
        "được làm tròn đến 5, để không ai bị nhận ra.",
        "window": "Khoảng thời gian",
        "days": "ngày",
        "total": "Tổng",
        "per_team": "Theo tổ",
        "switch": "English",
    },
    "en": {
        "title": "Team console",
        "login": "Log in",
        "login_name": "Login",
        "password": "Password",
        "bad_login": "Wrong login or password.",
        "locked": "Too many failed attempts. Try again in 15 minutes.",
        "slow": "Too many attempts from this machine. Wait a moment and try again.",
        "logout": "Log out",
        "queue": "Queue",
        "mine": "My chats",
        "empty_queue": "No request is waiting.",
        "waiting_total": "waiting",
        "older": "‹ Longer waiting",
        "newer": "More recent ›",
        "flood": "{n} new requests in the past hour: possibly a flood of fake ones. "
        "Every request is still here, longest waiting first.",
        "empty_mine": "You have not taken a chat.",
        "take": "Take",
        "release": "Give back to the queue",
        "end": "End",
        "tips": "Insert a vetted text",
        "insert": "Send the text",
        "transfer": "Transfer to",
        "do_transfer": "Transfer",
        "on_duty": "On duty — click to go off",
        "off_duty": "Off duty — click to go on",
        "send": "Send",
        "reply": "Reply (sent as “the team”)",
        "notes": "Private team notes (she never sees them)",
        "add_note": "Save note",
        "pick": "Choose a chat.",
        "stats": "Statistics",
        "console": "Queue",
        "area": "Area",
        "language": "Language",
        "topic": "Topic",
        "waiting": "Waiting",
        "her": "Her",
        "team": "Team",
        "note": "Note",
        "closed": "Ended",
        "left": "The person left.",
        "no_team": "This login is not a member of any team in the teams file.",
        "conversations": "Conversations per day",
        "intents": "Intents",
        "handoffs": "Handoffs: requested / claimed",
        "requested": "requested",
        "claimed": "claimed",
        "median": "Median time to claim",
        "out_of_hours": "Out of hours",
        "small": "Counts from 1 to 4 are shown as “< 5” and left out of totals; others "
        "are rounded to the nearest 5, so that nobody can be singled out.",
        "window": "Period",
        "days": "days",
        "total": "Total",
        "per_team": "Per team",
        "switch": "Tiếng Việt",
    },
}


def _head(lang: str, title: str) -> str:
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="same-origin"><meta name="robots" content="noindex, '
        'nofollow">'
        f'<title>{escape(title)}</title><link rel="icon" href="data:,">'
        '<link rel="stylesheet" href="/team/static/console.css"></head>'
    )


def _nav(lang: str, t: dict[str, str], csrf: str, current: str) -> str:
    other = "en" if lang == "vi" else "vi"
    links = [("/team", t["console"], "console"), ("/team/stats", t["stats"], "stats")]
    current_attr = ' aria-current="page"'
    items = "".join(
        f'<a href="{href}"{current_attr if key == current else ""}>{escape(label)}</a>'
        for href, label, key in links
    )
    return (
        f'<header class="top"><nav aria-label="{escape(t["title"])}">{items}</nav>'
        f'<span class="right"><a href="/team/lang/{other}" lang="{other}">{escape(t["switch"])}</a>'
        f'<form method="post" action="/team/logout" class="inline">'
        f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
        f'<button type="submit">{escape(t["logout"])}</button></form></span></header>'
    )


def _windows(t: dict[str, str], days: int) -> str:
    """Links to the fixed windows (7, 30, 90 days): no other length is offered."""
    current = ' aria-current="page"'
    links = "".join(
        f'<a href="/team/stats?days={n}"{current if n == days else ""}>{n} {escape(t["days"])}</a> '
        for n in (7, 30, 90)
    )
    return f'<nav class="windows" aria-label="{escape(t["window"])}">{links}</nav>'


def login_page(lang: str, csrf: str, error: str | None = None, login: str = "") -> str:
    t = T[lang]
    other = "en" if lang == "vi" else "vi"
    err = f'<p class="error" role="alert">{escape(t[error])}</p>' if error else ""
    return (
        _head(lang, t["title"]) + '<body class="login"><main class="card">'
        f"<h1>{escape(t['title'])}</h1>{err}"
        '<form method="post" action="/team/login">'
        f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
        f'<label for="login">{escape(t["login_name"])}</label>'
        f'<input id="login" name="login" autocomplete="username" required value="{escape(login)}">'
        f'<label for="password">{escape(t["password"])}</label>'
        '<input id="password" name="password" type="password" autocomplete="current-password" '
        "required>"
        f'<button type="submit">{escape(t["login"])}</button></form>'
        f'<p><a href="/team/lang/{other}" lang="{other}">{escape(t["switch"])}</a></p>'
        "</main></body></html>"
    )


def console_page(lang: str, csrf: str, login: str, has_team: bool) -> str:
    t = T[lang]
    strings = {
        k: t[k]
        for k in (
            "take",
            "release",
            "end",
            "send",
            "reply",
            "notes",
            "add_note",
            "pick",
            "area",
            "language",
            "topic",
            "waiting",
            "her",
            "team",
            "note",
            "closed",
            "left",
            "empty_queue",
            "empty_mine",
            "waiting_total",
            "older",
            "newer",
            "flood",
            "tips",
            "insert",
            "transfer",
            "do_transfer",
            "on_duty",
            "off_duty",
        )
    }
    import json

    data = escape(json.dumps(strings, ensure_ascii=False))
    warn = "" if has_team else f'<p class="error" role="alert">{escape(t["no_team"])}</p>'
    return (
        _head(lang, t["title"])
        + f'<body class="console" data-csrf="{escape(csrf)}" data-t="{data}">'
        + _nav(lang, t, csrf, "console")
        + warn
        + '<p><button type="button" id="duty" class="duty"></button></p>'
        + '<div class="layout">'
        f'<section class="lists" aria-label="{escape(t["queue"])}">'
        '<p id="flood" class="error" role="alert" hidden></p>'
        f'<h2 id="queue-h">{escape(t["queue"])} <small id="queue-count"></small></h2>'
        '<ul id="queue" aria-labelledby="queue-h"></ul>'
        '<nav id="queue-pages" class="pages" hidden>'
        f'<button type="button" id="queue-prev">{escape(t["older"])}</button> '
        '<span id="queue-page"></span> '
        f'<button type="button" id="queue-next">{escape(t["newer"])}</button></nav>'
        f'<h2 id="mine-h">{escape(t["mine"])}</h2><ul id="mine" aria-labelledby="mine-h"></ul>'
        "</section>"
        '<section id="chat" class="chat" aria-live="polite">'
        f'<p class="muted">{escape(t["pick"])}</p></section>'
        "</div>"
        '<script src="/team/static/console.js"></script></body></html>'
    )


def stats_page(lang: str, csrf: str, numbers: dict[str, Any], charts: dict[str, str]) -> str:
    t = T[lang]
    h = numbers["handoffs"]

    def median(v: Any) -> str:
        if v is None:
            return "–"
        if v == "more":
            return "> 24 h"
        return f"≤ {int(v) // 60} min" if int(v) < 3600 else f"≤ {int(v) // 3600} h"

    def pct(v: float | None) -> str:
        return "–" if v is None else f"{round(v * 100)} %"

    team_rows = "".join(
        f'<tr><th scope="row">{escape(team)}</th><td>{escape(str(x["requested"]))}</td>'
        f"<td>{escape(str(x['claimed']))}</td><td>{escape(median(x['median_seconds_to_claim']))}</td>"
        f"<td>{escape(str(x['out_of_hours']))} ({escape(pct(x['out_of_hours_share']))})</td></tr>"
        for team, x in h["per_team"].items()
    )
    return (
        _head(lang, t["stats"])
        + '<body class="stats">'
        + _nav(lang, t, csrf, "stats")
        + f"<main><h1>{escape(t['stats'])} <small>{escape(numbers['from'])} – "
        f"{escape(numbers['to'])}</small></h1>"
        f'<p class="muted">{escape(t["small"])}</p>'
        + _windows(t, int(numbers["days"]))
        + '<dl class="kpis">'
        f"<div><dt>{escape(t['conversations'])} · {escape(t['total'])}</dt>"
        f"<dd>{escape(str(numbers['conversations']['total']))}</dd></div>"
        f"<div><dt>{escape(t['requested'])}</dt><dd>{escape(str(h['requested']))}</dd></div>"
        f"<div><dt>{escape(t['claimed'])}</dt><dd>{escape(str(h['claimed']))}</dd></div>"
        f"<div><dt>{escape(t['median'])}</dt><dd>{escape(median(h['median_seconds_to_claim']))}</dd></div>"
        f"<div><dt>{escape(t['out_of_hours'])}</dt><dd>{escape(str(h['out_of_hours']))} "
        f"({escape(pct(h['out_of_hours_share']))})</dd></div>"
        "</dl>"
        f"<h2>{escape(t['conversations'])}</h2><figure "
        f'id="chart-conversations">{charts["conversations"]}</figure>'
        f'<h2>{escape(t["intents"])}</h2><figure id="chart-intents">{charts["intents"]}</figure>'
        f'<h2>{escape(t["handoffs"])}</h2><figure id="chart-handoffs">{charts["handoffs"]}</figure>'
        f"<h2>{escape(t['per_team'])}</h2><table><thead><tr><th "
        f'scope="col">{escape(t["team"])}</th>'
        f'<th scope="col">{escape(t["requested"])}</th><th scope="col">{escape(t["claimed"])}</th>'
        f'<th scope="col">{escape(t["median"])}</th><th '
        f'scope="col">{escape(t["out_of_hours"])}</th></tr></thead>'
        f"<tbody>{team_rows}</tbody></table>"
        "</main></body></html>"
    )
