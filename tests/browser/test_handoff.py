"""A whole handoff between the web chat and the team console, in two browser
contexts; a member of another team neither sees nor takes the request."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Server, console_login, screenshot

pytest.importorskip("handoff.service", reason="the handoff service has not landed yet")

BOT = "#log .msg.bot"


def press(page: Any, name: str) -> None:
    page.locator("#log .buttons button:not([disabled])", has_text=name).last.click()


def ask_for_a_person(page: Any) -> None:
    page.goto(page.url if page.url.startswith("http") else "about:blank")
    expect(page.locator(BOT).first).to_be_visible()
    page.locator("#note-ok").click()
    page.fill("#text", "tôi muốn nói chuyện với người")
    page.keyboard.press("Enter")
    expect(page.locator("#log .buttons button:not([disabled])", has_text="Đồng ý")).to_be_visible()
    press(page, "Đồng ý")
    discreet = page.locator("#log .buttons button:not([disabled])", has_text="Không, bình thường")
    area_skip = page.locator("#log .buttons button:not([disabled])", has_text="Bỏ qua")
    expect(discreet.or_(area_skip).first).to_be_visible()
    if discreet.count():
        discreet.last.click()
    expect(area_skip.last).to_be_visible()
    area_skip.last.click()
    press(page, "Bạo lực trong gia đình")
    # The questions before connecting: the summary she sees first, safe to talk.
    expect(page.locator(BOT).filter(has_text="Chủ đề / Topic").last).to_be_visible()
    press(page, "Đồng ý chia sẻ")
    press(page, "Chỉ tin ngắn")
    expect(page.locator(BOT).filter(has_text="Một thành viên của tổ hỗ trợ").last).to_be_visible()


def test_whole_handoff_between_web_chat_and_console(browser: Any, server: Server) -> None:
    her_ctx = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN")
    hoa_ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    lan_ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    for ctx in (her_ctx, hoa_ctx, lan_ctx):
        ctx.set_default_timeout(10_000)
    try:
        her = her_ctx.new_page()
        her.goto(server.url + "/")
        ask_for_a_person(her)
        her.fill("#text", "tôi cần giúp, chồng tôi hay say rượu")
        her.keyboard.press("Enter")

        hoa = console_login(hoa_ctx, server, "hoa")
        queue = hoa.locator("#queue .req")
        expect(queue).to_have_count(1)
        alias = queue.first.locator("strong").inner_text()
        assert re.fullmatch(r"#[A-Z0-9]{4,5}", alias)
        expect(queue.first).to_contain_text("vi")

        # A member of another team sees nothing and cannot take it.
        lan = console_login(lan_ctx, server, "lan")
        expect(lan.locator("#queue")).to_contain_text("Không có yêu cầu")
        request_id = queue.first.get_attribute("data-id")
        csrf = lan.locator("body").get_attribute("data-csrf")
        denied = lan.request.post(
            f"{server.url}/team/api/requests/{request_id}/take",
            data={},
            headers={"X-CSRF-Token": csrf or "", "Origin": server.url},
        )
        assert denied.status == 404
        assert lan.request.get(f"{server.url}/team/api/requests/{request_id}").status == 404

        # Take: the chat opens with what she wrote while waiting.
        queue.first.get_by_role("button", name=re.compile("Nhận")).click()
        expect(hoa.locator("#queue .req")).to_have_count(0)
        expect(hoa.locator("#mine .req")).to_have_count(1)
        transcript = hoa.locator("#chat .transcript")
        expect(transcript).to_contain_text("chồng tôi hay say rượu")
        expect(hoa.locator("#chat")).to_contain_text("short, neutral messages only")
        expect(hoa.locator("#duty")).to_have_attribute("aria-pressed", "true")
        screenshot(hoa, "console")

        # The insert menu sends a vetted text (number 2: in danger, 113).
        hoa.select_option("#tip-pick", "2")
        hoa.get_by_role("button", name="Gửi mẫu tin").click()
        expect(her.locator(BOT).filter(has_text="113").last).to_be_visible()

        # Team → her, live over her WebSocket.
        hoa.fill("#reply-text", "Chào chị, tổ hỗ trợ đây. Chị có an toàn không?")
        hoa.keyboard.press("Enter")
        expect(her.locator(BOT).filter(has_text="Chị có an toàn không?")).to_have_count(1)

        # Her → team, live in the console.
        her.fill("#text", "tôi đang ở nhà mẹ")
        her.keyboard.press("Enter")
        expect(transcript).to_contain_text("tôi đang ở nhà mẹ")

        # A private note stays with the team.
        hoa.fill("#note-text", "Gọi lại sau 18h")
        hoa.get_by_role("button", name="Lưu ghi chú").click()
        expect(hoa.locator("#chat .notes")).to_contain_text("Gọi lại sau 18h")
        expect(her.locator("#log")).not_to_contain_text("18h")
        screenshot(her, "chat-handoff")

        # Quick exit ends the chat: the member is told she left.
        her.locator("#exit").click()
        her.wait_for_url(server.exit_url)
        expect(hoa.locator("#chat .closed")).to_be_visible(timeout=15_000)
        expect(hoa.locator("#chat .closed")).to_contain_text("rời đi")
    finally:
        for ctx in (her_ctx, hoa_ctx, lan_ctx):
            ctx.close()
