"""Zalo's two products side by side, sharing what they can.

- Zalo Official Account: ``oa`` (the channel and its sender), ``oa_events``
  (signature and events, pure), ``oa_api`` (the client), ``oa_tokens`` (the
  single-use token pair, refreshed once across processes);
- Zalo Bot Platform (the Telegram-like API): ``bot_platform`` (the channel,
  webhook or long polling, and its sender), ``bot_updates`` (updates, pure),
  ``bot_api`` (the client);
- shared: ``common`` (what an inbound message is, ids, payloads typed as
  text, numbered options, the turn), ``options`` (the options last shown,
  sealed in the database), ``sender`` (direct replies and the outbox's
  sender), ``errors`` (each product's error codes as a ``Failure``).
"""
