"""When a store's feed is due, and when its last good upload is too old (pure: no database).

The store's five cron fields are read in its time zone (US Central, DECISIONS §3.12) with croniter. DST:
- spring forward: a slot inside the skipped hour runs once, at the first minute after the jump (croniter's
  behaviour, and Vixie cron's);
- fall back: a schedule with a fixed hour runs once, at the first occurrence of the repeated wall-clock time
  (Vixie cron's rule; croniter alone would run it twice); schedules with `*` or a step in the hour field keep
  running through the repeated hour, as they are intervals rather than times of day.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

NOT_SCHEDULED = "* * * * *"


def is_scheduled(expression: str) -> bool:
    return expression.split() != NOT_SCHEDULED.split()


def _hour_is_fixed(expression: str) -> bool:
    hour = expression.split()[1]
    return "*" not in hour and "/" not in hour


def _is_repeated_wall_time(slot_local: datetime) -> bool:
    """The second occurrence of a wall-clock time that a fall-back transition repeats."""
    first = slot_local.replace(fold=0)
    return slot_local.fold == 1 and first.utcoffset() != slot_local.utcoffset()


def slots_before(expression: str, time_zone: str, moment: datetime) -> croniter | None:
    """Iterator whose get_prev() walks back from the last slot at or before `moment` (minute resolution)."""
    if not is_scheduled(expression):
        return None
    zone = ZoneInfo(time_zone)
    start_utc = moment.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    return croniter(expression, start_utc.astimezone(zone))


def last_slot(expression: str, time_zone: str, moment: datetime) -> datetime | None:
    """The most recent slot at or before `moment` (UTC), skipping fall-back repeats of fixed-hour schedules."""
    it = slots_before(expression, time_zone, moment)
    if it is None:
        return None
    zone = ZoneInfo(time_zone)
    fixed_hour = _hour_is_fixed(expression)
    for _ in range(4):
        slot = it.get_prev(datetime).astimezone(zone)
        if not (fixed_hour and _is_repeated_wall_time(slot)):
            return slot.astimezone(UTC)
    return None  # pragma: no cover - four consecutive repeats cannot happen


def due_slot(expression: str, time_zone: str, now: datetime, *, grace: timedelta) -> datetime | None:
    """The slot a beat tick at `now` should run: the latest slot, unless it is older than `grace` (a beat that
    was down for longer does not replay old slots; the staleness alert reports the gap instead)."""
    slot = last_slot(expression, time_zone, now)
    if slot is None or now - slot > grace:
        return None
    return slot


def next_slot(expression: str, time_zone: str, now: datetime) -> datetime | None:
    if not is_scheduled(expression):
        return None
    zone = ZoneInfo(time_zone)
    it = croniter(expression, now.astimezone(zone))
    fixed_hour = _hour_is_fixed(expression)
    for _ in range(4):
        slot = it.get_next(datetime).astimezone(zone)
        if not (fixed_hour and _is_repeated_wall_time(slot)):
            return slot.astimezone(UTC)
    return None  # pragma: no cover


def stale_since(expression: str, time_zone: str, now: datetime, *, last_success: datetime | None,
                scheduled_since: datetime, allowance: timedelta) -> datetime | None:
    """The slot whose upload is missing, when the last good upload is older than the schedule allows: some slot
    at least `allowance` ago (time for the run to finish) has no good upload after it. None = fine."""
    slot = last_slot(expression, time_zone, now - allowance)
    if slot is None:
        return None
    reference = last_success or scheduled_since
    if reference >= slot:
        return None
    if last_success is None and scheduled_since > slot:  # pragma: no cover - covered by the line above
        return None
    return slot
