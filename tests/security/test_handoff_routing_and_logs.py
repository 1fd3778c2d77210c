"""Two ways a real ``helpline run`` could hurt her without anyone attacking:

- a production deployment on PostgreSQL with the web chat only and no teams
  file routed her request to a demo team that nobody reads (she is told a
  team will answer; nobody ever does);
- the log line of a queued request named her commune's team next to her
  pseudonym, so whoever reads the logs learns where the person behind every
  other line about that pseudonym lives.
"""

from __future__ import annotations

from pathlib import Path

from tests.scale.cluster import sql
from tests.security.conftest import MEMBER_IP, helpline_env, started, teams_file
from tests.security.webchat import Chat


async def test_postgres_without_a_teams_file_never_routes_to_a_demo_team(
    postgres_url: str, tmp_path: Path
) -> None:
    process = await started(helpline_env(postgres_url, tmp_path), tmp_path)
    try:
        async with Chat(f"http://127.0.0.1:{process.port}", MEMBER_IP) as her:
            await her.open_page()
            await her.connect()
            await her.send({"type": "start"})
            await her.say("tôi muốn nói chuyện với người thật")
            if any(b["label"] == "Đồng ý" for f in her.frames for b in f.get("buttons", [])):
                await her.ask_for_team()
        said = " ".join(her.texts())
        assert "113" in said
        assert "sẽ trả lời bạn" not in said, "she must not be promised a team that is not there"
        assert (await sql(postgres_url, "SELECT count(*) FROM handoff_requests"))[0][0] == 0
        assert "Team console:" not in process.output(), "no demo account printed"
    finally:
        await process.stop()


async def test_the_queued_log_line_never_puts_a_team_next_to_a_pseudonym(
    tmp_path: Path,
) -> None:
    env = helpline_env(
        f"sqlite+aiosqlite:///{tmp_path / 'helpline.db'}",
        tmp_path,
        HELPLINE_TEAMS_FILE=str(teams_file(tmp_path)),
    )
    process = await started(env, tmp_path)
    try:
        async with Chat(f"http://127.0.0.1:{process.port}", MEMBER_IP) as her:
            await her.open_page()
            await her.connect()
            await her.send({"type": "start"})
            queued = await her.ask_for_team()
            assert any("113" in f.get("text", "") for f in queued)
        log = process.output()
    finally:
        await process.stop()
    lines = log.splitlines()
    assert any("queued" in line for line in lines), log[-2000:]
    teams = ("north", "south")
    for line in lines:
        if "user=" in line:
            assert not any(team in line for team in teams), line
        if "queued" in line:
            assert "user=" not in line and "team=" not in line, line
