"""Bot API errors as a :class:`~bot.interfaces.Failure`, in one place."""

from __future__ import annotations

from datetime import timedelta

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.interfaces import DeliveryError, Failure


def retry_seconds(exc: RetryAfter) -> float:
    value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def delivery_error(exc: TelegramError) -> DeliveryError:
    """What a Bot API error means for the outbox and for a direct reply."""
    if isinstance(exc, RetryAfter):
        return DeliveryError(
            Failure.THROTTLED, "telegram flood control", retry_after=retry_seconds(exc)
        )
    if isinstance(exc, Forbidden):
        # Blocked by the user, kicked from the group, account deleted: retrying cannot help.
        return DeliveryError(Failure.CONTACT_STOPPED, "telegram forbidden")
    if isinstance(exc, BadRequest):
        # Chat not found, message to edit gone...: the same request will fail again.
        return DeliveryError(Failure.REJECTED, "telegram bad request")
    if isinstance(exc, NetworkError):
        return DeliveryError(Failure.CONNECTION, "telegram network error")
    return DeliveryError(Failure.CONNECTION, f"telegram {type(exc).__name__}")
