"""The teams file: who covers which area, where request cards go, who may take them.

The file is written by a programme officer, not a programmer, so it is checked
once at start and every mistake is reported as one line that names the place
(``teams[1].hours: ...``), never a traceback. The file holds no data about the
people who ask for help — only team structure.

A team member is known internally by an identity ``(channel, id)`` so that the
team side is not tied to Telegram: Telegram user ids come from the file today,
the web console adds its own identities later (the demo team already uses one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.settings import SettingsError

#: Viet Nam has one time zone and no daylight saving: a fixed offset is exact
#: and needs no tz database on the server.
VN_TZ = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")

#: Channel of the web console's team side (built later); the demo team lives there.
CONSOLE_CHANNEL = "console"
#: Channel names of the team's messaging apps (as the adapters name them).
TELEGRAM_CHANNEL = "telegram"
ZALO_BOT_CHANNEL = "zalo_bot"
#: Zalo Bot Platform ids are opaque strings (hex in every update seen so far).
_ZALO_ID = re.compile(r"^[A-Za-z0-9_-]{4,64}$")
DEMO_TEAM_ID = "demo"
#: An area pattern that matches every area (the demo team, or a catch-all team).
ANY_AREA = "*"

_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")

Identity = tuple[str, str]


class TeamsFileError(SettingsError):
    """The teams file is missing, unreadable or invalid; the message is one line."""


@dataclass(frozen=True, slots=True)
class Hours:
    """Opening hours in Viet Nam time; an overnight range (21:00-07:00) is allowed."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> Hours:
        match = _HOURS.match(text)
        if not match:
            raise ValueError("must look like 07:00-21:00")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if not (0 <= h1 <= 23 and 0 <= h2 <= 24 and m1 < 60 and m2 < 60):
            raise ValueError("hours must be between 00:00 and 24:00")
        end = time(0, 0) if (h2, m2) == (24, 0) else time(h2, m2)
        if h2 == 24 and m2:
            raise ValueError("hours must be between 00:00 and 24:00")
        if time(h1, m1) == end and (h2, m2) != (24, 0):
            raise ValueError(
                "start and end are the same; leave hours out for a team that is always on call"
            )
        return cls(time(h1, m1), end)

    def is_open(self, now: datetime) -> bool:
        local = now.astimezone(VN_TZ).time()
        if self.start < self.end:
            return self.start <= local < self.end
        if self.end == time(0, 0):
            return local >= self.start
        return local >= self.start or local < self.end

    def __str__(self) -> str:
        end = "24:00" if self.end == time(0, 0) else self.end.strftime("%H:%M")
        return f"{self.start.strftime('%H:%M')}–{end}"


class Member(BaseModel):
    """A person who takes chats. ``alias`` is all the people asking for help ever
    learn about her (nothing, in fact: they see "the team"); other members see it
    on cards and in the audit log."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    alias: str = Field(min_length=1, max_length=32)
    telegram_user_id: int | None = None
    #: The member's Zalo Bot Platform user id (the ``chat.id`` of her private chat
    #: with the bot); a member may have it next to, or instead of, Telegram.
    zalo_user_id: str | None = None
    #: Web console login (set by the console later); an identity on the "console" channel.
    console_id: str | None = Field(None, min_length=1, max_length=64)

    @field_validator("alias")
    @classmethod
    def _alias_clean(cls, value: str) -> str:
        value = value.strip()
        if not value or any(ch in value for ch in "\n\r\t"):
            raise ValueError("must be a short single-line name")
        return value

    @field_validator("zalo_user_id", mode="before")
    @classmethod
    def _zalo_id_ok(cls, value: object) -> object:
        return _zalo_id(value, "zalo_user_id", "the id of the member's private chat with the bot")

    @model_validator(mode="after")
    def _has_identity(self) -> Member:
        if self.telegram_user_id is None and self.console_id is None and not self.zalo_user_id:
            raise ValueError(
                "needs telegram_user_id (the member's numeric Telegram user id) "
                "or zalo_user_id (her Zalo Bot Platform user id)"
            )
        if self.telegram_user_id is not None and self.telegram_user_id <= 0:
            raise ValueError(
                "telegram_user_id must be a person's (positive) user id, not a group id"
            )
        return self

    def identities(self) -> list[Identity]:
        ids: list[Identity] = []
        if self.telegram_user_id is not None:
            ids.append((TELEGRAM_CHANNEL, str(self.telegram_user_id)))
        if self.zalo_user_id is not None:
            ids.append((ZALO_BOT_CHANNEL, self.zalo_user_id))
        if self.console_id is not None:
            ids.append((CONSOLE_CHANNEL, self.console_id))
        return ids

    @property
    def reply_identity(self) -> Identity:
        """Where her messages are relayed to by default: the member's private chat."""
        return self.identities()[0]

    def reply_identity_for(self, actor: Identity) -> Identity:
        """Where her messages go when this member takes a request as ``actor``:
        the private chat on the app the member took it from (a Take pressed in a
        Telegram group is the member's Telegram identity already)."""
        return actor if actor in self.identities() else self.reply_identity


def _zalo_id(value: object, field: str, what: str) -> object:
    """A Zalo id written as text (or a number YAML read as one), checked for shape."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"must be {what}, written as text")
    text = str(value).strip()
    if not _ZALO_ID.fullmatch(text):
        raise ValueError(
            f"{field} must be {what}: 4-64 letters, digits, '-' or '_' (got {len(text)} chars)"
        )
    return text


class Team(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str = Field(min_length=1, max_length=120)
    areas: list[str] = Field(min_length=1)
    telegram_group_id: int | None = None
    #: A Zalo group the bot (Zalo Bot Platform) was added to: cards are posted
    #: there as plain text. Leave it out when no group is usable: cards then go
    #: to each on-duty member's private chat with the bot.
    zalo_group_id: str | None = None
    #: The console's queue for this team (the demo team); an address on the "console" channel.
    console_group: str | None = None
    hours: str | None = None
    contacts: list[str] = Field(default_factory=list)
    members: list[Member] = Field(min_length=1)
    #: Whether a member counts as on duty before her first /on or /off.
    #: True: everyone is on duty until they say /off. False: nobody is until /on.
    on_duty_by_default: bool = True

    @field_validator("zalo_group_id", mode="before")
    @classmethod
    def _zalo_group_ok(cls, value: object) -> object:
        return _zalo_id(value, "zalo_group_id", "the chat id of the team's Zalo group")

    @field_validator("areas")
    @classmethod
    def _areas_clean(cls, value: list[str]) -> list[str]:
        cleaned = [a.strip() for a in value if a and a.strip()]
        if not cleaned:
            raise ValueError("list at least one commune, ward or province")
        return cleaned

    @field_validator("hours")
    @classmethod
    def _hours_ok(cls, value: str | None) -> str | None:
        if value is not None:
            Hours.parse(value)
        return value

    @model_validator(mode="after")
    def _checks(self) -> Team:
        if (
            self.telegram_group_id is None
            and self.console_group is None
            and self.zalo_group_id is None
            and not any(m.zalo_user_id for m in self.members)
        ):
            raise ValueError(
                "needs telegram_group_id or zalo_group_id (the team group where request "
                "cards are posted), or members with zalo_user_id (cards in private)"
            )
        if self.telegram_group_id is not None and self.telegram_group_id >= 0:
            raise ValueError("telegram_group_id must be a group id (negative, like -1001234567890)")
        aliases = [m.alias.casefold() for m in self.members]
        dup = {a for a in aliases if aliases.count(a) > 1}
        if dup:
            raise ValueError(
                f"two members share the alias {sorted(dup)[0]!r}; aliases must differ within a team"
            )
        if self.zalo_group_id is not None and any(
            m.zalo_user_id == self.zalo_group_id for m in self.members
        ):
            raise ValueError("zalo_group_id is a member's zalo_user_id: use the group's chat id")
        seen: set[Identity] = set()
        for m in self.members:
            for ident in m.identities():
                if ident in seen:
                    raise ValueError(f"member {ident[1]} is listed twice")
                seen.add(ident)
        return self

    @property
    def opening_hours(self) -> Hours | None:
        return Hours.parse(self.hours) if self.hours else None

    def is_open(self, now: datetime) -> bool:
        hours = self.opening_hours
        return hours is None or hours.is_open(now)

    def hours_text(self) -> str:
        hours = self.opening_hours
        return str(hours) if hours else ""

    def group_addresses(self) -> list[Identity]:
        """Where this team's request cards are posted."""
        out: list[Identity] = []
        if self.telegram_group_id is not None:
            out.append((TELEGRAM_CHANNEL, str(self.telegram_group_id)))
        if self.zalo_group_id is not None:
            out.append((ZALO_BOT_CHANNEL, self.zalo_group_id))
        if self.console_group is not None:
            out.append((CONSOLE_CHANNEL, self.console_group))
        return out

    @property
    def cards_in_private(self) -> bool:
        """No group at all: each on-duty member gets the card in private."""
        return not self.group_addresses()

    def member_by_identity(self, ident: Identity) -> Member | None:
        for m in self.members:
            if ident in m.identities():
                return m
        return None

    @property
    def covers_everywhere(self) -> bool:
        return ANY_AREA in self.areas


class TeamsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    teams: list[Team] = Field(min_length=1)
    fallback_team: str
    claim_timeout_minutes: int = Field(10, ge=1, le=24 * 60)
    #: An open chat with no message either way for this long reminds the member.
    idle_reminder_minutes: int = Field(30, ge=1, le=7 * 24 * 60)
    #: Ask her, before the card goes out, whether a short summary may be shared
    #: and whether it is safe to talk now.
    ask_before_connecting: bool = True
    #: Unanswered questions before connecting stop holding the card after this.
    intake_timeout_minutes: int = Field(3, ge=1, le=60)

    @model_validator(mode="after")
    def _checks(self) -> TeamsConfig:
        ids = [t.id for t in self.teams]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"duplicate team id {sorted(dup)[0]!r}")
        if self.fallback_team not in ids:
            raise ValueError(
                f"fallback_team {self.fallback_team!r} is not the id of a team in this file"
            )
        groups = [g for t in self.teams for g in t.group_addresses()]
        dup_groups = {g for g in groups if groups.count(g) > 1}
        if dup_groups:
            raise ValueError(f"two teams post to the same group {sorted(dup_groups)[0][1]}")
        return self

    def team(self, team_id: str) -> Team | None:
        for t in self.teams:
            if t.id == team_id:
                return t
        return None

    @property
    def fallback(self) -> Team:
        team = self.team(self.fallback_team)
        assert team is not None, "validated"
        return team

    def is_group(self, ident: Identity) -> Team | None:
        for t in self.teams:
            if ident in t.group_addresses():
                return t
        return None

    def teams_of(self, ident: Identity) -> list[tuple[Team, Member]]:
        """Every team this identity belongs to (a member may serve two teams)."""
        out = []
        for t in self.teams:
            m = t.member_by_identity(ident)
            if m is not None:
                out.append((t, m))
        return out


def _location(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "teams file"


def parse_teams(data: Any, source: str = "teams file") -> TeamsConfig:
    """Validate already-loaded YAML data; errors become one-line TeamsFileError."""
    if not isinstance(data, dict):
        raise TeamsFileError(f"HELPLINE_TEAMS_FILE: {source}: expected a mapping with 'teams:'")
    try:
        return TeamsConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        # Model-level checks report an empty location; drop pydantic's prefix.
        msg = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        where = _location(tuple(first.get("loc") or ()))
        raise TeamsFileError(f"HELPLINE_TEAMS_FILE: {source}: {where}: {msg}") from None


def load_teams(path: Path) -> TeamsConfig:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise TeamsFileError(f"HELPLINE_TEAMS_FILE: cannot read {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise TeamsFileError(f"HELPLINE_TEAMS_FILE: {path}:{where} is not valid YAML") from None
    return parse_teams(data, str(path))


def demo_config() -> TeamsConfig:
    """Local mode without a teams file: one team covering every area whose
    member side is the web console, so a newcomer can walk through a handoff."""
    return TeamsConfig(
        teams=[
            Team(
                id=DEMO_TEAM_ID,
                name="Demo team (local mode)",
                areas=[ANY_AREA],
                console_group="demo-team",
                contacts=[
                    "113: Công an / Police",
                    "111: Tổng đài quốc gia bảo vệ trẻ em / child protection",
                ],
                members=[Member(alias="Demo", console_id="demo")],
            )
        ],
        fallback_team=DEMO_TEAM_ID,
        claim_timeout_minutes=10,
        idle_reminder_minutes=30,
        ask_before_connecting=True,
        intake_timeout_minutes=3,
    )
