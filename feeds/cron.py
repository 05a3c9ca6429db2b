"""The product-feed schedule as seed 002 shows it: five cron fields (minute, hour, day of month, month, day of
week), `*` everywhere = not scheduled, entered and shown in US Central time (DECISIONS §3.12).

Pure helpers (no database): validate the fields, say the schedule in words, and compute the next runs with
croniter. The scheduler itself (issue 6) may reuse `next_runs`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from croniter import croniter

FIELDS = ("cron_minute", "cron_hour", "cron_day_of_month", "cron_month", "cron_day_of_week")
LABELS = {"cron_minute": "minute", "cron_hour": "hour", "cron_day_of_month": "day of month",
          "cron_month": "month", "cron_day_of_week": "day of week"}
RANGES = {"cron_minute": (0, 59), "cron_hour": (0, 23), "cron_day_of_month": (1, 31), "cron_month": (1, 12),
          "cron_day_of_week": (0, 6)}
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

# One cron field: `*`, `*/n`, or a comma list of numbers / ranges / stepped ranges. Names (JAN, MON) are not
# accepted: the console offers numbers, and numbers keep the stored form unambiguous for the scheduler.
_PART = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?$")


class CronError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def _check_field(name: str, value: str) -> str:
    value = (value or "").strip()
    label = LABELS[name]
    low, high = RANGES[name]
    if not value:
        raise CronError(name, f"The {label} is required: use * for every {label}.")
    for part in value.split(","):
        match = _PART.match(part)
        if not match:
            raise CronError(name, f"'{value}' is not a valid {label}: use *, a number from {low} to {high}, "
                                  f"a range like {low}-{low + 1}, a list like {low},{low + 1} or a step like */2.")
        base, _rng, step = match.groups()
        if step and int(step[1:]) == 0:
            raise CronError(name, f"The step in '{part}' must be at least 1.")
        if base != "*":
            bounds = [int(x) for x in base.split("-")]
            for number in bounds:
                if not low <= number <= high:
                    raise CronError(name, f"{number} is not a valid {label}: it must be between {low} and {high}.")
            if len(bounds) == 2 and bounds[0] > bounds[1]:
                raise CronError(name, f"The range '{base}' runs backwards.")
    return value


def cron_field_validate(name: str, value: str) -> str:
    """One field on its own (CronError if invalid)."""
    return _check_field(name, value)


def cron_validate(fields: dict[str, str]) -> dict[str, str]:
    """Normalised fields, or CronError naming the first bad field."""
    cleaned = {name: _check_field(name, str(fields.get(name, "*"))) for name in FIELDS}
    expression = " ".join(cleaned[name] for name in FIELDS)
    if not croniter.is_valid(expression):  # belt and braces: the scheduler uses croniter too
        raise CronError("cron_minute", f"'{expression}' is not a valid schedule.")
    return cleaned


def is_scheduled(fields: dict[str, str]) -> bool:
    return any(str(fields.get(name, "*")).strip() != "*" for name in FIELDS)


def next_runs(fields: dict[str, str], *, time_zone: str, count: int = 1, now: datetime | None = None
              ) -> list[datetime]:
    """The next `count` run times (aware, in `time_zone`); empty when not scheduled."""
    if not is_scheduled(fields):
        return []
    zone = ZoneInfo(time_zone)
    start = (now or datetime.now(tz=zone)).astimezone(zone)
    itr = croniter(" ".join(str(fields[name]).strip() for name in FIELDS), start)
    return [itr.get_next(datetime) for _ in range(count)]


def _number_words(name: str, value: str) -> str:
    def one(number: str) -> str:
        n = int(number)
        if name == "cron_month":
            return MONTHS[n - 1]
        if name == "cron_day_of_week":
            return DAYS[n]
        return str(n)

    words = []
    for part in value.split(","):
        base, _, step = part.partition("/")
        if base == "*":
            text = f"every {step} {LABELS[name]}s" if step else f"every {LABELS[name]}"
        elif "-" in base:
            a, b = base.split("-")
            text = f"{one(a)} to {one(b)}" + (f" every {step}" if step else "")
        else:
            text = one(base) + (f" every {step}" if step else "")
        words.append(text)
    return ", ".join(words)


def describe(fields: dict[str, str], *, time_zone: str) -> str:
    """The schedule in words, e.g. "Every day at 02:30 (US Central time)"."""
    if not is_scheduled(fields):
        return "Not scheduled (every field is *): the product feed is not sent automatically."
    minute, hour = fields["cron_minute"].strip(), fields["cron_hour"].strip()
    dom, month, dow = (fields[n].strip() for n in ("cron_day_of_month", "cron_month", "cron_day_of_week"))
    zone_words = "US Central time" if time_zone == "America/Chicago" else time_zone
    if minute.isdigit() and hour.isdigit():
        when = f"at {int(hour):02d}:{int(minute):02d}"
    elif minute.isdigit() and hour == "*":
        when = f"every hour at minute {int(minute)}"
    elif hour == "*" and (minute == "*" or minute.startswith("*/")):
        when = "every minute" if minute == "*" else f"every {minute[2:]} minutes"
    elif minute.isdigit():
        when = f"at minute {int(minute)} of hour {_number_words('cron_hour', hour)}"
    elif hour.isdigit():
        when = f"at minute {_number_words('cron_minute', minute)} of hour {int(hour):02d}"
    else:
        when = f"at minute {_number_words('cron_minute', minute)}, hour {_number_words('cron_hour', hour)}"
    days = []
    if dom != "*":
        days.append(f"on day {_number_words('cron_day_of_month', dom)} of the month")
    if dow != "*":
        days.append(f"on {_number_words('cron_day_of_week', dow)}")
    day_words = " or ".join(days) if days else "every day"
    month_words = f" in {_number_words('cron_month', month)}" if month != "*" else ""
    return f"{day_words[0].upper()}{day_words[1:]}{month_words}, {when} ({zone_words})."


def describe_next_run(fields: dict[str, str], *, time_zone: str, now: datetime | None = None) -> str:
    """The next run in words, e.g. "Next run: Tuesday 5 May 2026 at 02:30 CDT (in 3 hours)"."""
    runs = next_runs(fields, time_zone=time_zone, now=now)
    if not runs:
        return "No run scheduled."
    run = runs[0]
    zone = ZoneInfo(time_zone)
    current = (now or datetime.now(tz=zone)).astimezone(zone)
    return (f"Next run: {run:%A} {run.day} {run:%B %Y} at {run:%H:%M} {run.tzname()} "
            f"({_in_words(run - current)}).")


def _in_words(delta) -> str:
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 60:
        return "in less than a minute"
    minutes = seconds // 60
    if minutes < 60:
        return f"in {minutes} minute{'s' if minutes != 1 else ''}"
    hours = minutes // 60
    if hours < 48:
        rest = minutes % 60
        text = f"in {hours} hour{'s' if hours != 1 else ''}"
        return text + (f" {rest} minute{'s' if rest != 1 else ''}" if rest and hours < 10 else "")
    days = hours // 24
    return f"in {days} days"


@dataclass
class Schedule:
    fields: dict[str, str]
    time_zone: str

    @property
    def description(self) -> str:
        return describe(self.fields, time_zone=self.time_zone)

    @property
    def next_run_words(self) -> str:
        return describe_next_run(self.fields, time_zone=self.time_zone)

    @property
    def next_run(self) -> datetime | None:
        runs = next_runs(self.fields, time_zone=self.time_zone)
        return runs[0] if runs else None
