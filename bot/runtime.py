"""Wires the layers together for one process: settings → database → keys →
NLU → flows → outbox → handoff → engine → channels, plus background tasks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from bot.channels import Channel
from bot.crypto import KeyRing
from bot.engine import Engine
from bot.interfaces import Handoff, Sender
from bot.outbox import Outbox, OutboxWorker
from bot.retention import KeepHook, PurgeHook, run_periodically
from bot.settings import Settings
from bot.stats import Stats
from bot.store.db import Database

log = logging.getLogger(__name__)

#: Seconds background loops get to finish their current pass at shutdown.
SHUTDOWN_GRACE = 10.0


@dataclass
class Runtime:
    settings: Settings
    db: Database
    keyring: KeyRing
    engine: Engine
    outbox: Outbox
    senders: dict[str, Sender] = field(default_factory=dict)
    channels: list[Channel] = field(default_factory=list)
    purge_hooks: list[PurgeHook] = field(default_factory=list)
    keep_hook: KeepHook | None = None
    worker: OutboxWorker | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def add_channel(self, channel: Channel) -> None:
        self.channels.append(channel)
        if channel.sender is not None:
            self.senders[channel.sender.channel] = channel.sender

    async def start_background(
        self, *, outbox_poll: float = 1.0, purge_interval: float = 3600.0
    ) -> None:
        self.worker = OutboxWorker(self.db, self.outbox, self.senders, poll_interval=outbox_poll)
        handoff = self.engine.handoff
        hook = getattr(handoff, "on_undeliverable", None)
        if hook is not None:
            self.worker.on_undeliverable = hook
        self._tasks = [
            asyncio.create_task(self.worker.run(), name="outbox"),
            asyncio.create_task(self.engine.stats.run(self.outbox.stopping), name="stats"),
            asyncio.create_task(self.engine.message_refs.run(self.outbox.stopping), name="refs"),
            asyncio.create_task(
                run_periodically(
                    self.db,
                    self.settings.retention_days,
                    self.purge_hooks,
                    self.keep_hook,
                    self.outbox.stopping,
                    purge_interval,
                ),
                name="retention",
            ),
        ]
        for extra in getattr(handoff, "background_tasks", lambda: [])():
            self._tasks.append(asyncio.create_task(extra, name="handoff"))

    async def close(self) -> None:
        """Stop background loops at a safe point (never mid-transaction), then
        cancel whatever is still running after a grace period."""
        self.outbox.stop()
        stop_handoff = getattr(self.engine.handoff, "stop", None)
        if stop_handoff is not None:
            stop_handoff()
        if self._tasks:
            _done, pending = await asyncio.wait(self._tasks, timeout=SHUTDOWN_GRACE)
            for task in pending:
                task.cancel()
            for task in self._tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._tasks = []
        await self.engine.stats.flush()
        await self.engine.message_refs.flush()
        await self.db.dispose()


async def build_runtime(settings: Settings, *, upgrade: bool = True) -> Runtime:
    """Everything but the channels; callers add the channels they serve."""
    import nlu
    from responses import load_runner

    db = Database(settings.database_url)
    if upgrade:
        await db.upgrade()
    assert settings.secret_key, "load_settings() guarantees a secret"
    keyring = KeyRing(settings.secret_key, settings.old_secrets())
    backend = nlu.build_backend(
        settings.nlu_url, timeout=settings.nlu_timeout, token=settings.nlu_token
    )
    runner = load_runner()
    outbox = Outbox(keyring)
    stats = Stats(db)
    handoff = await _build_handoff(settings, db, keyring, outbox, runner)
    if handoff is not None and hasattr(handoff, "stats"):
        # The programme's counters (handoff_requested, claim times...): see bot/console/stats.py.
        handoff.stats = stats  # type: ignore[attr-defined]
    engine = Engine(
        db,
        keyring,
        backend,
        runner,
        outbox,
        handoff=handoff,
        stats=stats,
        confidence_threshold=nlu.CONFIDENCE_THRESHOLD,
    )
    runtime = Runtime(settings=settings, db=db, keyring=keyring, engine=engine, outbox=outbox)
    for name in ("purge_hook",):
        hook = getattr(handoff, name, None)
        if hook is not None:
            runtime.purge_hooks.append(hook)
    runtime.keep_hook = getattr(handoff, "keep_hook", None)
    return runtime


async def _build_handoff(
    settings: Settings, db: Database, keyring: KeyRing, outbox: Outbox, runner: object
) -> Handoff | None:
    """The handoff service when ``handoff/`` provides one (teams configured or demo)."""
    try:
        from handoff import build_handoff  # type: ignore[attr-defined]
    except ImportError:
        return None
    return await build_handoff(
        settings=settings, db=db, keyring=keyring, outbox=outbox, runner=runner
    )  # type: ignore[no-any-return]
