"""Alembic environment: always runs on a connection handed in by the bot
(``Database.upgrade``), so it works inside the running event loop."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context

import handoff.models  # noqa: F401  (registers the handoff tables on Base.metadata)
from bot.store.models import Base, UTCDateTime


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Migrations spell our UTC wrapper as the plain column type it stores."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only through `helpline db upgrade`
    raise RuntimeError("run migrations through `helpline db upgrade`")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    render_item=_render_item,
)
with context.begin_transaction():
    context.run_migrations()
