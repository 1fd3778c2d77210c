"""The team console at /team: login, queue, take, chat, notes, statistics."""
