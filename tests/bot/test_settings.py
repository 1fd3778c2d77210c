"""Settings: defaults, clear one-line errors naming the variable, exit code 2."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import LOCAL_SECRET_FILE, SettingsError, load_settings

CLEAN_ENV_KEYS = [k for k in os.environ if k.startswith(("HELPLINE_", "TELEGRAM_", "ZALO_"))]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in CLEAN_ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults_are_local_mode(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    assert settings.database_url == "sqlite+aiosqlite:///./helpline.db"
    assert settings.http_host == "127.0.0.1"
    assert settings.http_port == 8080
    assert settings.retention_days == 30
    assert not settings.real_channel_configured


def test_secret_generated_into_private_file_once(tmp_path: Path) -> None:
    first = load_settings(data_dir=tmp_path)
    path = tmp_path / LOCAL_SECRET_FILE
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    second = load_settings(data_dir=tmp_path)
    assert first.secret_key == second.secret_key
    assert first.secret_key is not None and len(first.secret_key) >= 32


def test_local_secret_lives_in_the_user_data_dir_not_beside_the_database(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Whoever copies the folder that holds ``helpline.db`` must not get the
    key that opens it: by default the secret goes to the user's data dir."""
    data_home = tmp_path / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data_home))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    settings = load_settings()
    assert settings.database_url == "sqlite+aiosqlite:///./helpline.db"
    secret = data_home / "helpline" / LOCAL_SECRET_FILE
    assert secret.exists() and not (work / LOCAL_SECRET_FILE).exists()
    assert stat.S_IMODE(secret.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600


def test_token_without_secret_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    with pytest.raises(SettingsError, match="HELPLINE_SECRET_KEY"):
        load_settings(data_dir=tmp_path)
    assert not (tmp_path / LOCAL_SECRET_FILE).exists()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HELPLINE_HTTP_PORT", "eighty"),
        ("HELPLINE_HTTP_PORT", "70000"),
        ("HELPLINE_SECRET_KEY", "short"),
        ("HELPLINE_SECRET_KEY", "a" * 32),
        ("HELPLINE_SECRET_KEY", "test-secret-" + "x" * 40),
        ("HELPLINE_SECRET_KEY", "0123456789abcdef" * 3),
        ("HELPLINE_OLD_SECRET_KEYS", "Zq3vN8pL2xR7tK1mW9sD4fG6hJ0cB5nA, " + "b" * 40),
        ("HELPLINE_METRICS_TOKEN", "metrics" * 6),
        ("HELPLINE_DEMO_PASSWORD", "1"),
        ("HELPLINE_DEMO_PASSWORD", "password1234"),
        ("HELPLINE_DEMO_PASSWORD", "aaaaaaaaaaaaaaaa"),
        ("HELPLINE_TRUSTED_PROXIES", "127.0.0.1, proxy.local"),
        ("HELPLINE_DATABASE_URL", "mysql://x"),
        ("HELPLINE_RETENTION_DAYS", "0"),
        ("HELPLINE_LOG_LEVEL", "LOUD"),
        ("HELPLINE_TEAMS_FILE", "/no/such/teams.yml"),
    ],
)
def test_bad_setting_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as err:
        load_settings(data_dir=tmp_path)
    assert str(err.value).startswith(name + ":")


def test_random_secrets_and_old_keys_are_accepted(tmp_path: Path) -> None:
    import secrets

    for _ in range(50):
        old = f"{secrets.token_hex(16)},{secrets.token_urlsafe(32)}"
        settings = load_settings(
            data_dir=tmp_path, secret_key=secrets.token_urlsafe(24), old_secret_keys=old
        )
        assert len(settings.old_secrets()) == 2


def test_demo_mode_only_where_it_is_a_demo(tmp_path: Path) -> None:
    assert load_settings(data_dir=tmp_path).demo_mode, "local SQLite, no teams file"
    pg = "postgresql+asyncpg://postgres@127.0.0.1/x"
    assert not load_settings(data_dir=tmp_path, database_url=pg).demo_mode
    assert load_settings(data_dir=tmp_path, database_url=pg, demo=True).demo_mode
    teams = tmp_path / "teams.yml"
    teams.write_text("teams: []\n", encoding="utf-8")
    assert not load_settings(data_dir=tmp_path, teams_file=teams).demo_mode


def test_plain_postgres_url_gets_async_driver(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HELPLINE_DATABASE_URL", "postgresql://postgres@127.0.0.1/test")
    assert load_settings(data_dir=tmp_path).database_url.startswith("postgresql+asyncpg://")


def test_env_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("HELPLINE_HTTP_PORT=18080\n")
    assert load_settings(data_dir=tmp_path).http_port == 18080


def test_cli_bad_setting_one_line_exit_2(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV_KEYS}
    env["HELPLINE_HTTP_PORT"] = "not-a-port"
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "db", "upgrade"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "HELPLINE_HTTP_PORT" in lines[0]
    assert "Traceback" not in proc.stderr
