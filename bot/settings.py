"""Settings from the environment (or a ``.env`` file), validated once at start.

Bad settings end the program with one line naming the variable (exit code 2),
never a traceback: the person starting the bot is often not a programmer.
"""

from __future__ import annotations

import logging
import math
import os
import secrets
import stat
import sys
import time
from collections import Counter
from itertools import pairwise
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)

MIN_SECRET_LENGTH = 32
#: Estimated bits a secret must carry (a random 32-character string carries more).
MIN_SECRET_BITS = 128
MIN_DEMO_PASSWORD = 12
LOCAL_SECRET_FILE = ".helpline-secret"
#: Passwords people choose first; refused for the demo account whatever their length.
COMMON_PASSWORDS = frozenset(
    {
        "password1234",
        "passwordpassword",
        "123456789012",
        "1234567890123",
        "qwertyuiopas",
        "adminadmin12",
        "demodemodemo",
        "helpline1234",
        "matkhau12345",
        "changeme1234",
        "letmein12345",
        "iloveyou1234",
    }
)


def _character_bits(value: str) -> float:
    """Bits per character of the smallest usual alphabet the value fits in."""
    if all(c in "0123456789abcdefABCDEF" for c in value):
        return 4.0
    size = 0
    size += 10 if any(c.isdigit() for c in value) else 0
    size += 26 if any(c.islower() for c in value) else 0
    size += 26 if any(c.isupper() for c in value) else 0
    size += 33 if any(not c.isalnum() for c in value) else 0
    return math.log2(max(size, 2))


def weakness(value: str, *, min_bits: int = MIN_SECRET_BITS) -> str | None:
    """Why a secret is guessable, or None. An estimate, meant to catch the
    secrets people type ("a"*32, "test-secret-xxxx", "abcd" repeated), not to
    certify random ones."""
    n = len(value)
    if n == 0:
        return "is empty"
    counts = Counter(value)
    if len(counts) < min(10, n * 2 // 3):
        return "has too few different characters (use a random string)"
    if any(value == value[:p] * (n // p) + value[: n % p] for p in range(1, n // 2 + 1)):
        return "is a repeated pattern (use a random string)"
    trigrams = [value[i : i + 3] for i in range(n - 2)]
    if trigrams and len(set(trigrams)) < 0.75 * len(trigrams):
        return "repeats itself (use a random string)"
    steps = sum(1 for a, b in pairwise(value) if abs(ord(a) - ord(b)) <= 1)
    if steps > n // 2:
        return "is mostly a run of neighbouring characters (use a random string)"
    shannon = -sum(c / n * math.log2(c / n) for c in counts.values())
    bits = n * min(_character_bits(value), shannon + 1.0)
    if shannon < min(3.0, math.log2(n) - 0.8) or bits < min_bits:
        return f"is too predictable (about {int(bits)} bits; at least {min_bits} needed)"
    return None


def default_data_dir() -> Path:
    """Where the local secret lives by default: the user's data directory
    (``$XDG_DATA_HOME/helpline``, else ``~/.local/share/helpline``), never the
    working directory, which holds the SQLite database by default. A secret
    next to the database file would open every sealed value to whoever copies
    the folder."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "helpline"


class SettingsError(Exception):
    """A setting is missing or wrong; the message names the variable."""


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str = Field(
        "sqlite+aiosqlite:///./helpline.db", validation_alias=_env("HELPLINE_DATABASE_URL")
    )
    secret_key: str | None = Field(None, validation_alias=_env("HELPLINE_SECRET_KEY"))
    #: Earlier secrets, comma separated: still decrypt old rows after a key rotation.
    old_secret_keys: str = Field("", validation_alias=_env("HELPLINE_OLD_SECRET_KEYS"))
    http_host: str = Field("127.0.0.1", validation_alias=_env("HELPLINE_HTTP_HOST"))
    http_port: int = Field(8080, ge=1, le=65535, validation_alias=_env("HELPLINE_HTTP_PORT"))
    teams_file: Path | None = Field(None, validation_alias=_env("HELPLINE_TEAMS_FILE"))
    log_level: str = Field("INFO", validation_alias=_env("HELPLINE_LOG_LEVEL"))
    retention_days: int = Field(30, ge=1, le=3650, validation_alias=_env("HELPLINE_RETENTION_DAYS"))
    nlu_url: str | None = Field(None, validation_alias=_env("HELPLINE_NLU_URL"))
    nlu_timeout: float = Field(2.0, gt=0, le=30, validation_alias=_env("HELPLINE_NLU_TIMEOUT"))
    #: A Rasa server started with ``--auth-token``: sent as its ``token`` query parameter.
    nlu_token: str | None = Field(None, validation_alias=_env("HELPLINE_NLU_TOKEN"))
    #: Demo mode (a "demo" console account and team) outside local SQLite mode.
    demo: bool = Field(False, validation_alias=_env("HELPLINE_DEMO"))
    data_dir: Path = Field(
        default_factory=default_data_dir, validation_alias=_env("HELPLINE_DATA_DIR")
    )
    #: Hours after a handoff closes before the bot deletes its copies of her
    #: words (and the member's replies) from the member's private chat. Telegram
    #: lets a bot delete them only within 48 hours of sending.
    member_copy_hours: float = Field(
        1.0, ge=0, le=47, validation_alias=_env("HELPLINE_MEMBER_COPY_HOURS")
    )
    demo_password: str | None = Field(None, validation_alias=_env("HELPLINE_DEMO_PASSWORD"))
    #: Serve /metrics on its own port on 127.0.0.1 (not on the public port).
    metrics_port: int | None = Field(
        None, ge=1, le=65535, validation_alias=_env("HELPLINE_METRICS_PORT")
    )
    #: Or serve /metrics on the public port to a scraper sending this bearer token.
    metrics_token: str | None = Field(None, validation_alias=_env("HELPLINE_METRICS_TOKEN"))
    #: Our reverse proxies (IPs or networks): the client IP for rate limits is
    #: then read from X-Forwarded-For (bot/client_ip.py).
    trusted_proxies: str = Field("", validation_alias=_env("HELPLINE_TRUSTED_PROXIES"))
    exit_url: str = Field(
        "https://www.google.com/search?q=thoi+tiet", validation_alias=_env("HELPLINE_EXIT_URL")
    )
    #: Sites that may show the web chat in an iframe (CSP frame-ancestors), space separated.
    embed_origins: str = Field("*", validation_alias=_env("HELPLINE_EMBED_ORIGINS"))
    #: The chat's own https origin as people reach it (``https://chat.example.org``):
    #: cookies are then Secure, HSTS is sent, embed.js and the /ws Origin check use it.
    public_url: str | None = Field(None, validation_alias=_env("HELPLINE_PUBLIC_URL"))
    #: Web chat: messages one session may send per minute, and one IP (all its sessions).
    web_messages_per_minute: int = Field(
        20, ge=1, validation_alias=_env("HELPLINE_WEB_MESSAGES_PER_MINUTE")
    )
    web_ip_messages_per_minute: int = Field(
        120, ge=1, validation_alias=_env("HELPLINE_WEB_IP_MESSAGES_PER_MINUTE")
    )
    #: Web chat: new sessions one IP may open per hour (a carrier's shared IP serves many).
    web_ip_sessions_per_hour: int = Field(
        200, ge=1, validation_alias=_env("HELPLINE_WEB_IP_SESSIONS_PER_HOUR")
    )
    #: Handoff requests one person may make per hour (any channel).
    handoff_requests_per_hour: int = Field(
        3, ge=1, validation_alias=_env("HELPLINE_HANDOFF_REQUESTS_PER_HOUR")
    )
    #: Her messages kept for the team while her request waits to be taken.
    handoff_held_messages: int = Field(
        30, ge=1, validation_alias=_env("HELPLINE_HANDOFF_HELD_MESSAGES")
    )
    #: New requests per hour, all channels together, above which the team is
    #: told of a flood (console banner, metric, a notice in team groups).
    handoff_flood_per_hour: int = Field(
        30, ge=1, validation_alias=_env("HELPLINE_HANDOFF_FLOOD_PER_HOUR")
    )

    #: Speech to text for voice messages (docs/voice.md); unset: the text-only answer.
    asr_url: str | None = Field(None, validation_alias=_env("HELPLINE_ASR_URL"))
    #: The backend's model id, chosen by the deployment (a Vietnamese-capable one).
    asr_model: str | None = Field(None, validation_alias=_env("HELPLINE_ASR_MODEL"))
    asr_token: str | None = Field(None, validation_alias=_env("HELPLINE_ASR_TOKEN"))
    #: ISO 639-1 code sent as ``language``; "auto" lets the backend detect it.
    asr_language: str = Field("vi", validation_alias=_env("HELPLINE_ASR_LANGUAGE"))
    asr_timeout: float = Field(15.0, gt=0, le=120, validation_alias=_env("HELPLINE_ASR_TIMEOUT"))
    asr_max_bytes: int = Field(
        8 * 1024 * 1024,
        ge=1024,
        le=50 * 1024 * 1024,
        validation_alias=_env("HELPLINE_ASR_MAX_BYTES"),
    )
    asr_max_seconds: float = Field(
        180.0, gt=0, le=1800, validation_alias=_env("HELPLINE_ASR_MAX_SECONDS")
    )

    telegram_bot_token: str | None = Field(None, validation_alias=_env("TELEGRAM_BOT_TOKEN"))
    telegram_api_base_url: str = Field(
        "https://api.telegram.org/bot", validation_alias=_env("TELEGRAM_API_BASE_URL")
    )
    telegram_webhook_url: str | None = Field(None, validation_alias=_env("TELEGRAM_WEBHOOK_URL"))
    #: Messages per second across all chats (Telegram documents about 30); 0 = no overall cap.
    telegram_rate_limit: float = Field(30.0, ge=0, validation_alias=_env("TELEGRAM_RATE_LIMIT"))

    zalo_app_id: str | None = Field(None, validation_alias=_env("ZALO_APP_ID"))
    zalo_app_secret: str | None = Field(None, validation_alias=_env("ZALO_APP_SECRET"))
    zalo_oa_secret_key: str | None = Field(None, validation_alias=_env("ZALO_OA_SECRET_KEY"))
    zalo_oa_access_token: str | None = Field(None, validation_alias=_env("ZALO_OA_ACCESS_TOKEN"))
    zalo_oa_refresh_token: str | None = Field(None, validation_alias=_env("ZALO_OA_REFRESH_TOKEN"))
    zalo_oa_api_base_url: str = Field(
        "https://openapi.zalo.me", validation_alias=_env("ZALO_OA_API_BASE_URL")
    )
    zalo_oauth_base_url: str = Field(
        "https://oauth.zaloapp.com", validation_alias=_env("ZALO_OAUTH_BASE_URL")
    )
    zalo_oa_signature_max_age: int = Field(
        300, ge=0, validation_alias=_env("ZALO_OA_SIGNATURE_MAX_AGE")
    )
    #: Which secret signs OA events is not certain (docs/zalo.md): the OA secret
    #: key, the app secret, or either.
    zalo_oa_signature_secret: Literal["oa_secret_key", "app_secret", "either"] = Field(
        "oa_secret_key", validation_alias=_env("ZALO_OA_SIGNATURE_SECRET")
    )
    zalo_bot_token: str | None = Field(None, validation_alias=_env("ZALO_BOT_TOKEN"))
    zalo_bot_webhook_url: str | None = Field(None, validation_alias=_env("ZALO_BOT_WEBHOOK_URL"))
    zalo_bot_webhook_secret: str | None = Field(
        None, validation_alias=_env("ZALO_BOT_WEBHOOK_SECRET")
    )
    zalo_bot_api_base_url: str = Field(
        "https://bot-api.zaloplatforms.com/bot", validation_alias=_env("ZALO_BOT_API_BASE_URL")
    )
    #: Long polling (no ZALO_BOT_WEBHOOK_URL): seconds one getUpdates call waits.
    zalo_bot_poll_timeout: int = Field(
        30, ge=1, le=120, validation_alias=_env("ZALO_BOT_POLL_TIMEOUT")
    )
    #: Messages per second each Zalo product sends (OA and Bot Platform alike),
    #: danger answers first; 0 = no cap. Kept under the ~4,000 requests a
    #: minute per app that Zalo is reported to allow.
    zalo_rate_limit: float = Field(50.0, ge=0, validation_alias=_env("ZALO_RATE_LIMIT"))

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            value = "postgresql+asyncpg://" + value.split("://", 1)[1]
        if not (
            value.startswith("sqlite+aiosqlite://") or value.startswith("postgresql+asyncpg://")
        ):
            raise ValueError("must be a sqlite+aiosqlite:// or postgresql+asyncpg:// URL")
        return value

    @field_validator("asr_url")
    @classmethod
    def _asr_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not (value.startswith("http://") or value.startswith("https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("asr_language")
    @classmethod
    def _asr_language(cls, value: str) -> str:
        value = value.strip().lower() or "auto"
        if value != "auto" and not (2 <= len(value) <= 3 and value.isascii() and value.isalpha()):
            raise ValueError('must be a language code such as "vi", or "auto"')
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return value

    @field_validator("secret_key", "metrics_token")
    @classmethod
    def _secret_strength(cls, value: str | None) -> str | None:
        if value is not None:
            _check_secret(value)
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        from bot.client_ip import parse_proxies

        parse_proxies(value)
        return value

    @field_validator("old_secret_keys")
    @classmethod
    def _old_secrets_strength(cls, value: str) -> str:
        for number, old in enumerate((s.strip() for s in value.split(",") if s.strip()), 1):
            try:
                _check_secret(old)
            except ValueError as exc:
                raise ValueError(f"old key number {number} {exc}") from None
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        """The origin alone (scheme, host, port); https unless on this machine."""
        if not value:
            return None
        parts = urlsplit(value.strip())
        local = parts.hostname in ("localhost", "127.0.0.1", "::1")
        if parts.scheme != "https" and not (parts.scheme == "http" and local):
            raise ValueError("must be an https:// address (http only for localhost)")
        if not parts.netloc or parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError("must be an origin like https://chat.example.org (no path)")
        return f"{parts.scheme}://{parts.netloc.lower()}"

    @field_validator("demo_password")
    @classmethod
    def _demo_password(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if len(value) < MIN_DEMO_PASSWORD:
            raise ValueError(f"must be at least {MIN_DEMO_PASSWORD} characters")
        if value.casefold() in COMMON_PASSWORDS or weakness(value, min_bits=40) is not None:
            raise ValueError("is too easy to guess; choose a random one or leave it unset")
        return value

    @field_validator("teams_file")
    @classmethod
    def _teams_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"file not found: {value}")
        return value

    @property
    def zalo_oa_enabled(self) -> bool:
        return bool(self.zalo_app_id and (self.zalo_oa_access_token or self.zalo_oa_refresh_token))

    @property
    def real_channel_configured(self) -> bool:
        return bool(self.telegram_bot_token or self.zalo_bot_token or self.zalo_oa_enabled)

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")

    @property
    def demo_mode(self) -> bool:
        """A demo only where it is one: local SQLite without a teams file or a
        channel token, or when HELPLINE_DEMO=1 says so."""
        if self.demo:
            return True
        return not self.is_postgres and self.teams_file is None and not self.real_channel_configured

    def old_secrets(self) -> list[str]:
        return [s.strip() for s in self.old_secret_keys.split(",") if s.strip()]


def _check_secret(value: str) -> None:
    if len(value) < MIN_SECRET_LENGTH:
        raise ValueError(f"must be at least {MIN_SECRET_LENGTH} characters (a random string)")
    why = weakness(value)
    if why is not None:
        raise ValueError(why)


def _variable_name(settings_field: str) -> str:
    alias = Settings.model_fields[settings_field].validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return settings_field.upper()


def load_settings(**overrides: object) -> Settings:
    """Read and check the settings; raise :class:`SettingsError` naming the variable."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = first.get("loc") or ("?",)
        name = str(loc[0])
        if name in Settings.model_fields:
            name = _variable_name(name)
        msg = first.get("msg", "invalid value")
        raise SettingsError(f"{name}: {msg}") from None
    if settings.asr_url and not settings.asr_model:
        raise SettingsError(
            "HELPLINE_ASR_MODEL: required when HELPLINE_ASR_URL is set "
            "(the backend's model id, e.g. a PhoWhisper or Whisper large-v3 model)"
        )
    ensure_secret(settings)
    return settings


def ensure_secret(settings: Settings) -> None:
    """Local mode may run without a configured secret: one is generated into a
    0600 file. With a real channel token, a missing secret is an error, because
    a generated file would be lost with the machine and every stored address
    with it."""
    if settings.secret_key:
        return
    if settings.real_channel_configured:
        raise SettingsError(
            "HELPLINE_SECRET_KEY: required when a channel token is configured "
            f"(a random string of at least {MIN_SECRET_LENGTH} characters)"
        )
    path = settings.data_dir / LOCAL_SECRET_FILE
    if path.exists():
        value = path.read_text(encoding="utf-8").strip()
        if len(value) < MIN_SECRET_LENGTH or weakness(value) is not None:
            raise SettingsError(
                f"HELPLINE_SECRET_KEY: the local secret file {path} is damaged; delete it"
            )
    else:
        value = secrets.token_urlsafe(48)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
        except FileExistsError:  # another process is writing it right now: use that one
            settings.secret_key = _read_when_written(path)
            return
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(value + "\n")
        log.warning(
            "HELPLINE_SECRET_KEY is not set: generated a local secret in %s (local mode only; "
            "set HELPLINE_SECRET_KEY before connecting a real channel)",
            path,
        )
    settings.secret_key = value


def _read_when_written(path: Path) -> str:
    """The secret another process has just created (it may need a moment to
    finish writing the line)."""
    for _ in range(50):
        value = path.read_text(encoding="utf-8").strip()
        if len(value) >= MIN_SECRET_LENGTH:
            return value
        time.sleep(0.02)
    raise SettingsError(f"HELPLINE_SECRET_KEY: the local secret file {path} is damaged; delete it")


def settings_or_exit() -> Settings:
    """Settings for a command-line tool (``helpline ...``, and the sub-commands
    other layers register): a bad setting is one line on stderr and exit
    status 2, never a traceback; logging is configured from the settings."""
    from bot import logs

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"helpline: bad setting {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    logs.configure(settings.log_level)
    return settings
