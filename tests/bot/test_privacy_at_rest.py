"""After a conversation, the raw SQLite file holds no platform id, name or
message text in clear (docs/design.md, promises 1-2)."""

from __future__ import annotations

from pathlib import Path

from bot.messages import Incoming
from bot.runtime import build_runtime
from tests.conftest import make_settings

ADDRESS = "8765432109"
SECRET_TEXTS = [
    "chồng tôi tên Nguyễn Văn Bảo đánh tôi hôm qua",
    "toi song o xa Phu Hung, so dien thoai 0912345678",
    "hello my name is Lan Pham",
]


def read_database_files(folder: Path) -> bytes:
    """The main file plus any WAL/journal left beside it."""
    return b"".join(p.read_bytes() for p in folder.glob("helpline.db*"))


async def test_sqlite_file_has_no_ids_or_texts(tmp_path: Path) -> None:
    db_path = tmp_path / "helpline.db"
    rt = await build_runtime(make_settings(f"sqlite+aiosqlite:///{db_path}", tmp_path))
    try:
        for i, text in enumerate(SECRET_TEXTS):
            await rt.engine.handle(Incoming("telegram", ADDRESS, f"m{i}", text=text))
        await rt.engine.handle(Incoming("telegram", ADDRESS, "b1", payload="cmd:menu"))
    finally:
        await rt.close()
    raw = read_database_files(tmp_path)
    assert raw, "the database file exists"
    needles = [
        ADDRESS,
        "0912345678",
        "Nguyễn Văn Bảo",
        "Nguyen Van Bao",
        "Lan Pham",
        "Phu Hung",
        *SECRET_TEXTS,
    ]
    for needle in needles:
        assert needle.encode("utf-8") not in raw, f"{needle!r} found in the database file"
