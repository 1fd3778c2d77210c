"""Wires the layers together for one process: settings → database → keys →
NLU → flows → outbox → handoff → engine → channels, plus background tasks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from bot.asr import ASRClient, build_asr
from bot.channels import Channel
from bot.crypto import KeyRing
from bot.engine import Engine
from bot.interfaces import Handoff, Sender
from bot.message_refs import MessageRefRecorder
from bot.metrics import Metrics
from bot.outbox import Outbox, OutboxWorker
from bot.retention import KeepHook, PurgeHook, run_periodically
from bot.settings import Settings
from bot.stats import Stats
from bot.store.db import Database
from nlu.areas import intent_at_area_prompt

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
    #: Speech to text for voice messages (None: not configured); closed at exit.
    asr: ASRClient | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def add_channel(self, channel: Channel) -> None:
        self.channels.append(channel)
        if channel.sender is not None:
            self.senders[channel.sender.channel] = channel.sender

    async def start_background(
        self, *, outbox_poll: float = 1.0, purge_interval: float = 3600.0
    ) -> None:
        handoff = self.engine.handoff
        self.worker = OutboxWorker(
            self.db,
            self.outbox,
            self.senders,
            poll_interval=outbox_poll,
            on_undeliverable=handoff.on_undeliverable if handoff is not None else None,
            on_delivered=handoff.on_delivered if handoff is not None else None,
        )
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
        if handoff is not None:
            for extra in handoff.background_tasks():
                self._tasks.append(asyncio.create_task(extra, name="handoff"))

    async def close(self) -> None:
        """Stop background loops at a safe point (never mid-transaction), then
        cancel whatever is still running after a grace period. Every loop,
        the handoff timers included, watches the outbox's ``stopping`` event."""
        self.outbox.stop()
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
        if self.asr is not None:
            await self.asr.close()
        await self.db.dispose()


async def build_runtime(settings: Settings, *, upgrade: bool = True) -> Runtime:
    """Everything but the channels; callers add the channels they serve."""
    import nlu
    from handoff import build_handoff
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
    # The programme's counters (turns, handoff_requested, claim times...): bot/stats.py.
    stats = Stats(db)
    handoff: Handoff | None = await build_handoff(
        settings=settings, db=db, keyring=keyring, outbox=outbox, runner=runner, stats=stats
    )
    asr = build_asr(settings)
    engine = Engine(
        db,
        keyring,
        backend,
        runner,
        outbox,
        handoff=handoff,
        transcriber=asr,
        stats=stats,
        metrics=Metrics(),
        message_refs=MessageRefRecorder(db),
        confidence_threshold=nlu.CONFIDENCE_THRESHOLD,
        area_prompt_intent=intent_at_area_prompt,
    )
    runtime = Runtime(
        settings=settings, db=db, keyring=keyring, engine=engine, outbox=outbox, asr=asr
    )
    if handoff is not None:
        runtime.purge_hooks.append(handoff.purge_hook)
        runtime.keep_hook = handoff.keep_hook
    return runtime
