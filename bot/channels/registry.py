"""Which platform channels this process serves, decided by the settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.channels import Channel

if TYPE_CHECKING:
    from bot.runtime import Runtime


def platform_channels(runtime: Runtime) -> list[Channel]:
    settings = runtime.settings
    channels: list[Channel] = []
    if settings.telegram_bot_token:
        from bot.channels.telegram import TelegramChannel

        channels.append(TelegramChannel.from_runtime(runtime))
    if settings.zalo_oa_enabled:
        from bot.channels.zalo.oa import ZaloOAChannel

        channels.append(ZaloOAChannel.from_runtime(runtime))
    if settings.zalo_bot_token:
        from bot.channels.zalo.bot_platform import ZaloBotChannel

        channels.append(ZaloBotChannel.from_runtime(runtime))
    return channels
