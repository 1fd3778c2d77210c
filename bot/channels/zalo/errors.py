"""Zalo's errors as :class:`~bot.interfaces.Failure`, once per product.

Zalo OA answers errors with HTTP 200 and ``error != 0``:

- ``-216`` invalid access token: refreshed once and retried by the client;
  if it is refused again, ``config``;
- ``-32`` rate limited: ``throttled``, retry in 30 s;
- ``-230`` / ``-305`` she last wrote more than 7 days / 48 hours ago:
  ``window_closed`` (she can be reached again only when she writes);
- ``-213`` she does not follow the OA: ``contact_stopped``;
- ``-201`` invalid parameter: ``rejected``;
- ``-211`` / ``-311`` quota used up: ``quota``, retry in 30 minutes;
- anything else: ``connection``, the outbox's backoff, the code is logged.

The Bot Platform answers ``{ok: false, error_code}`` with HTTP-like codes:
429 ``throttled``, 403 ``contact_stopped`` (she blocked the bot), 400
``rejected``, 401 / 404 ``config`` (the token is refused), anything else
``connection``.
"""

from __future__ import annotations

import logging

from bot.interfaces import DeliveryError, Failure

log = logging.getLogger(__name__)

RATE_LIMIT_BACKOFF = 30.0
QUOTA_BACKOFF = 1800.0
TOKEN_BACKOFF = 300.0

OA_INVALID_TOKEN = -216
OA_ERRORS: dict[int, tuple[Failure, str]] = {
    -32: (Failure.THROTTLED, "rate limited"),
    -216: (Failure.CONFIG, "invalid access token"),
    -230: (Failure.WINDOW_CLOSED, "outside the 7-day reply window"),
    -305: (Failure.WINDOW_CLOSED, "outside the 48-hour reply window"),
    -213: (Failure.CONTACT_STOPPED, "user does not follow the OA"),
    -201: (Failure.REJECTED, "invalid parameter"),
    -211: (Failure.QUOTA, "out of quota"),
    -311: (Failure.QUOTA, "reply quota used up"),
}

BOT_ERRORS: dict[int, tuple[Failure, str]] = {
    429: (Failure.THROTTLED, "too many requests"),
    403: (Failure.CONTACT_STOPPED, "forbidden"),
    400: (Failure.REJECTED, "bad request"),
    401: (Failure.CONFIG, "token refused"),
    404: (Failure.CONFIG, "token refused"),
}

#: How long to wait before trying again, per failure, when the platform does not say.
WAIT = {
    Failure.THROTTLED: RATE_LIMIT_BACKOFF,
    Failure.QUOTA: QUOTA_BACKOFF,
    Failure.CONFIG: TOKEN_BACKOFF,
}


def _error(product: str, failure: Failure, what: str, code: int | None) -> DeliveryError:
    if failure is Failure.CONFIG:
        log.error("%s: %s (%s): check the credentials in the settings", product, what, code)
    elif failure in (Failure.THROTTLED, Failure.QUOTA):
        log.warning("%s: %s (%s)", product, what, code)
    return DeliveryError(failure, f"{product}: {what} ({code})", retry_after=WAIT.get(failure))


def oa_error(code: int | None) -> DeliveryError:
    """A Zalo OA ``error`` code (not 0) as a delivery error."""
    if code in OA_ERRORS:
        failure, what = OA_ERRORS[code]
        return _error("zalo_oa", failure, what, code)
    log.warning("zalo_oa: send failed with error %s", code)
    return DeliveryError(Failure.CONNECTION, f"zalo_oa: error {code}")


def bot_error(code: int) -> DeliveryError:
    """A Zalo Bot Platform ``error_code`` (or HTTP status) as a delivery error."""
    if code in BOT_ERRORS:
        failure, what = BOT_ERRORS[code]
        return _error("zalo_bot", failure, what, code)
    return DeliveryError(Failure.CONNECTION, f"zalo_bot: error {code}")
