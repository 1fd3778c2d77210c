"""Zalo's two products side by side, sharing what they can.

- ``oa`` (Zalo Official Account): signed webhook in, ``message/cs`` out,
  with ``oa_api`` (the client) and ``oa_tokens`` (the single-use token pair);
- ``bot_platform`` (the Telegram-like Zalo Bot API): webhook or long polling;
- shared: ``common`` (what an inbound message is, ids, payloads typed as
  text, numbered options, the turn), ``options`` (the options last shown,
  sealed in the database), ``sender`` (direct replies and the outbox's
  sender), ``errors`` (each product's error codes as a ``Failure``).
"""
