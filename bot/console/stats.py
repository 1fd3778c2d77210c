"""Programme statistics from ``daily_counts``: counts only, never a person.

Small counts (1–4) are shown as ``"< 5"`` everywhere (page and JSON) so that
a single person cannot be picked out of a small commune's numbers; shares are
left out when either side of the fraction is small.

Masking alone can be undone by subtraction (a total minus the other cells, or
the last 10 days minus the last 9), so:

- a channel or team whose count in the window is small is masked and left
  out of every total and of the per-day figures, so a total minus the shown
  cells gives nothing back;
- every other count is rounded to the nearest 5 (8–12 → 10), so what is left
  (a masked day inside the window, two windows a day apart) cannot be
  subtracted exactly either;
- the window is one of :data:`WINDOWS` (7, 30 or 90 days), never any length;
- shares are computed from the rounded counts;
- a team member sees her own teams' handoff figures only (``teams=``);
  a coordinator (and the ``helpline stats`` command) sees every team.

Metrics read here (written through :class:`bot.stats.Stats`):

- ``conversations`` by channel, ``turns`` by channel, ``intent`` by intent;
- ``handoff_requested`` / ``handoff_claimed`` / ``out_of_hours`` by team id;
- ``claim_seconds`` by ``"<team>|<bucket>"`` where the bucket is the upper
  bound in seconds of :data:`CLAIM_BUCKETS` (or ``"more"``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import date, timedelta
from html import escape
from typing import Any

from sqlalchemy import select

from bot.messages import utcnow
from bot.stats import CLAIM_BUCKETS, LOCAL_TZ
from bot.store.db import Database
from bot.store.models import DailyCount

SMALL = 5
SMALL_TEXT = "< 5"
#: Shown counts are multiples of this.
ROUND_TO = 5
#: The only windows offered (days ending today, Viet Nam time).
WINDOWS = (7, 30, 90)
DEFAULT_WINDOW = 30

Count = int | str


def mask(n: int) -> Count:
    """1–4 become "< 5"; 0 stays 0; 5 and more are rounded to the nearest 5
    (half up, so never below 5)."""
    if 0 < n < SMALL:
        return SMALL_TEXT
    return (n + ROUND_TO // 2) // ROUND_TO * ROUND_TO


def share(part: int, whole: int) -> float | None:
    """part / whole from the shown (rounded) counts; None when either is small."""
    shown_part, shown_whole = mask(part), mask(whole)
    if isinstance(shown_part, str) or isinstance(shown_whole, str) or shown_whole == 0:
        return None
    return round(shown_part / shown_whole, 2)


def window(days: object) -> int:
    """One of :data:`WINDOWS`; anything else (a query string) gives the default."""
    try:
        value = int(str(days))
    except ValueError:
        return DEFAULT_WINDOW
    return value if value in WINDOWS else DEFAULT_WINDOW


def _median_bucket(buckets: dict[str, int]) -> int | str | None:
    """The bucket holding the median time to claim (its upper bound, seconds)."""
    total = sum(buckets.values())
    if total < SMALL:
        return None
    seen = 0
    for key in [*(str(b) for b in CLAIM_BUCKETS), "more"]:
        seen += buckets.get(key, 0)
        if seen * 2 >= total:
            return int(key) if key != "more" else "more"
    return None


def local_today() -> date:
    return utcnow().astimezone(LOCAL_TZ).date()


async def compute(
    db: Database,
    days: int = DEFAULT_WINDOW,
    *,
    until: date | None = None,
    teams: Collection[str] | None = None,
) -> dict[str, Any]:
    """The numbers for one of :data:`WINDOWS`; ``teams`` limits the handoff
    figures (and their totals) to those teams (None: every team)."""
    if days not in WINDOWS:
        raise ValueError(f"the window must be one of {WINDOWS} days")
    end = until or local_today()
    start = end - timedelta(days=days - 1)
    async with db.transaction() as session:
        rows = (
            await session.execute(
                select(DailyCount.day, DailyCount.metric, DailyCount.label, DailyCount.count).where(
                    DailyCount.day >= start.isoformat(), DailyCount.day <= end.isoformat()
                )
            )
        ).all()
    per_day_channel: dict[tuple[str, str], int] = defaultdict(int)
    by_channel: dict[str, int] = defaultdict(int)
    intents: dict[str, int] = defaultdict(int)
    team: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    claim: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for day, metric, label, n in rows:
        if metric == "conversations":
            per_day_channel[(day, label or "?")] += n
            by_channel[label or "?"] += n
        elif metric == "intent":
            intents[label or "?"] += n
        elif metric in ("handoff_requested", "handoff_claimed", "out_of_hours"):
            if teams is None or label in teams:
                team[label or "?"][metric] += n
        elif metric == "claim_seconds" and "|" in label:
            team_id, bucket = label.rsplit("|", 1)
            if teams is None or team_id in teams:
                claim[team_id][bucket] += n
    # A channel (or team) with a small count in the window is masked, and left
    # out of every total and of the per-day figures: otherwise a total minus
    # the shown cells would give it back.
    shown_channels = {c for c, n in by_channel.items() if not _small(n)}
    per_day: dict[str, int] = defaultdict(int)
    for (day, channel), n in per_day_channel.items():
        if channel in shown_channels:
            per_day[day] += n
    conversations = sum(by_channel[c] for c in shown_channels)

    def total(metric: str) -> int:
        return sum(t[metric] for t in team.values() if not _small(t[metric]))

    requested, claimed, ooh = (
        total(m) for m in ("handoff_requested", "handoff_claimed", "out_of_hours")
    )
    all_claims: dict[str, int] = defaultdict(int)
    teams_out = {}
    for team_id in sorted(set(team) | set(claim)):
        t = team[team_id]
        if not _small(t["handoff_claimed"]):
            for bucket, n in claim[team_id].items():
                all_claims[bucket] += n
        teams_out[team_id] = {
            "requested": mask(t["handoff_requested"]),
            "claimed": mask(t["handoff_claimed"]),
            "median_seconds_to_claim": _median_bucket(claim[team_id]),
            "out_of_hours": mask(t["out_of_hours"]),
            "out_of_hours_share": share(t["out_of_hours"], t["handoff_requested"]),
        }
    days_list = [(start + timedelta(days=i)).isoformat() for i in range(days)]
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "days": days,
        "small_counts": (
            f"counts from 1 to {SMALL - 1} are shown as '{SMALL_TEXT}' and left out of "
            f"totals; others are rounded to the nearest {ROUND_TO}"
        ),
        "conversations": {
            "total": mask(conversations),
            "per_day": [{"day": d, "count": mask(per_day.get(d, 0))} for d in days_list],
            "by_channel": {k: mask(v) for k, v in sorted(by_channel.items())},
        },
        "intents": {k: mask(v) for k, v in sorted(intents.items(), key=lambda kv: (-kv[1], kv[0]))},
        "handoffs": {
            "requested": mask(requested),
            "claimed": mask(claimed),
            "median_seconds_to_claim": _median_bucket(all_claims),
            "out_of_hours": mask(ooh),
            "out_of_hours_share": share(ooh, requested),
            "per_team": teams_out,
        },
    }


def _small(n: int) -> bool:
    return 0 < n < SMALL


# --- server-rendered SVG charts ------------------------------------------------

BAR = "#1f5fbf"
SMALL_BAR = "#9db7e0"


def _value(count: Count) -> float:
    """Chart height for a count; a masked count is drawn at 2.5 with a label."""
    return 2.5 if isinstance(count, str) else float(count)


def bar_chart(title: str, points: list[tuple[str, Count]], *, width: int = 640) -> str:
    """Vertical bars (e.g. conversations per day). Returns an inline <svg>."""
    height, pad_l, pad_b, pad_t = 200, 36, 36, 12
    n = max(1, len(points))
    top = max([_value(c) for _, c in points] + [5.0])
    inner_w, inner_h = width - pad_l - 8, height - pad_b - pad_t
    step = inner_w / n
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'preserveAspectRatio="xMidYMid meet" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{pad_l}" y1="{pad_t + inner_h}" x2="{width - 8}" y2="{pad_t + inner_h}" '
        f'stroke="#888"/>',
        f'<text x="{pad_l - 4}" y="{pad_t + 8}" text-anchor="end" font-size="11">{int(top)}</text>',
        f'<text x="{pad_l - 4}" y="{pad_t + inner_h}" text-anchor="end" font-size="11">0</text>',
    ]
    label_every = max(1, n // 8)
    for i, (label, count) in enumerate(points):
        h = inner_h * _value(count) / top
        x = pad_l + i * step + step * 0.15
        y = pad_t + inner_h - h
        fill = SMALL_BAR if isinstance(count, str) else BAR
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" '
            f'fill="{fill}">'
            f"<title>{escape(label)}: {escape(str(count))}</title></rect>"
        )
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + step * 0.35:.1f}" y="{height - pad_b + 14}" text-anchor="middle" '
                f'font-size="10">{escape(label[5:] if len(label) == 10 else label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def hbar_chart(title: str, rows: list[tuple[str, Count]], *, width: int = 640) -> str:
    """Horizontal bars with labels (e.g. intents, handoffs per team)."""
    row_h, label_w = 22, 170
    height = max(1, len(rows)) * row_h + 8
    top = max([_value(c) for _, c in rows] + [5.0])
    inner_w = width - label_w - 60
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'preserveAspectRatio="xMidYMid meet" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, count) in enumerate(rows):
        y = 4 + i * row_h
        w = max(1.0, inner_w * _value(count) / top) if _value(count) else 0.0
        fill = SMALL_BAR if isinstance(count, str) else BAR
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="12">'
            f"{escape(label[:26])}</text>"
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" fill="{fill}"/>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + 15}" '
            f'font-size="12">{escape(str(count))}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def charts(numbers: dict[str, Any], labels: dict[str, str]) -> dict[str, str]:
    conv = numbers["conversations"]
    hand = numbers["handoffs"]
    team_rows: list[tuple[str, Count]] = []
    for team_id, t in hand["per_team"].items():
        team_rows.append((f"{team_id} · {labels['requested']}", t["requested"]))
        team_rows.append((f"{team_id} · {labels['claimed']}", t["claimed"]))
    return {
        "conversations": bar_chart(
            labels["conversations"], [(p["day"], p["count"]) for p in conv["per_day"]]
        ),
        "intents": hbar_chart(labels["intents"], list(numbers["intents"].items())[:15]),
        "handoffs": hbar_chart(labels["handoffs"], team_rows),
    }
