"""The web chat in Chromium: buttons, the emergency answer, quick exit,
keyboard and screen-reader basics, screenshots."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import Server, screenshot

BOT = "#log .msg.bot"


def open_chat(context: Any, server: Server) -> Any:
    page = context.new_page()
    page.goto(server.url + "/")
    expect(page.locator(BOT).first).to_be_visible()
    return page


def test_conversation_with_buttons(context: Any, server: Server) -> None:
    page = open_chat(context, server)
    assert page.title() == "Hỏi đáp"
    expect(page.locator("#note")).to_be_visible()  # private-browsing note on first open
    buttons = page.locator("#log .buttons button")
    expect(buttons.first).to_be_visible()
    before = page.locator(BOT).count()
    entries = page.evaluate("history.length")
    label = buttons.first.inner_text()
    buttons.first.click()
    expect(page.locator("#log .msg.me").last).to_contain_text(label)
    expect(page.locator(BOT)).not_to_have_count(before)
    # Nothing about the conversation in the title or the history.
    assert page.title() == "Hỏi đáp"
    assert page.evaluate("history.length") == entries, "no history entries added"
    assert page.url.rstrip("/") == server.url
    screenshot(page, "chat")


def test_emergency_answer_comes_first(context: Any, server: Server) -> None:
    page = open_chat(context, server)
    page.locator("#note-ok").click()
    page.fill("#text", "tôi bị chồng đánh, cứu tôi")
    page.keyboard.press("Enter")
    expect(page.locator(BOT).filter(has_text="113").first).to_be_visible()


def test_quick_exit_button_leaves_no_trace(context: Any, server: Server) -> None:
    page = context.new_page()
    page.goto(server.exit_url)  # where she was before
    page.goto(server.url + "/")
    expect(page.locator(BOT).first).to_be_visible()
    page.evaluate("localStorage.setItem('x', '1'); sessionStorage.setItem('y', '1')")
    assert any(c["name"] == "hl_sid" for c in context.cookies())
    page.locator("#exit").click()
    page.wait_for_url(server.exit_url)
    # Back does not return to the chat: the chat entry was replaced.
    page.go_back()
    page.wait_for_timeout(300)
    assert "/neutral" in page.url or page.url == "about:blank"
    assert not any(c["name"] == "hl_sid" for c in context.cookies()), "session cookie gone"
    check = context.new_page()
    check.goto(server.url + "/static/chat.css")
    assert check.evaluate("localStorage.length + sessionStorage.length") == 0


def test_escape_twice_is_quick_exit(context: Any, server: Server) -> None:
    page = open_chat(context, server)
    page.locator("#text").focus()
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    page.wait_for_url(server.exit_url)
    assert not any(c["name"] == "hl_sid" for c in context.cookies())


def test_keyboard_language_and_large_text(context: Any, server: Server) -> None:
    page = open_chat(context, server)
    log = page.locator("#log")
    assert log.get_attribute("aria-live") == "polite"
    assert log.get_attribute("role") == "log"
    page.locator("#lang").click()
    expect(page.locator("#exit")).to_contain_text("Quick exit")
    assert page.evaluate("document.documentElement.lang") == "en"
    page.locator("#large").focus()
    page.keyboard.press("Enter")
    assert page.locator("body").get_attribute("class") == "large"
    assert page.locator("#large").get_attribute("aria-pressed") == "true"
    # Keyboard only: type and send with Enter.
    page.locator("#text").focus()
    page.keyboard.type("xin chào")
    page.keyboard.press("Enter")
    expect(page.locator("#log .msg.me").last).to_contain_text("xin chào")
    # 320 px: nothing wider than the screen.
    page.set_viewport_size({"width": 320, "height": 640})
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    expect(page.locator("#exit")).to_be_visible()


def test_reconnect_after_a_network_drop(context: Any, server: Server) -> None:
    page = open_chat(context, server)
    page.locator("#note-ok").click()
    context.set_offline(True)
    page.evaluate("window.dispatchEvent(new Event('offline'))")
    page.fill("#text", "xin chào")
    page.keyboard.press("Enter")
    context.set_offline(False)
    expect(page.locator(BOT)).not_to_have_count(1, timeout=15_000)
    texts = page.locator("#log .msg.me").all_inner_texts()
    assert sum("xin chào" in t for t in texts) == 1
