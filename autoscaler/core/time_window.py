"""Weekly time windows, such as the hours in which scale-down may remove nodes.

``parse_time_window`` reads the text form used by the node annotation
``autoscaler.vpsie.com/scale-down-allowed-hours``::

    window = [DAYS " "] START "-" END [" " TZ]
    DAYS   = ITEM ("," ITEM)*        ITEM = DAY | DAY "-" DAY
    DAY    = Mon | Tue | Wed | Thu | Fri | Sat | Sun     (any letter case)
    START, END = H:MM or HH:MM, from 00:00 to 23:59
    TZ     = an IANA time zone name, such as Europe/Berlin (default UTC)

Examples: ``22:00-06:00``, ``Mon-Fri 09:00-17:00``, ``Sat,Sun 00:00-23:59 Europe/Berlin``,
``Mon-Fri 22:00-06:00 America/New_York``. The parts are separated by whitespace; leading
and trailing whitespace is ignored. At most ``MAX_WINDOW_LENGTH`` characters are read.

Meaning:

- No days means every day. A day range may wrap past Sunday (``Fri-Mon`` is Fri, Sat, Sun,
  Mon); overlapping items are merged. A range from a day to itself is refused.
- A window is open from START (included) to END (excluded), in wall-clock time of TZ.
- An END earlier than START wraps past midnight, and the days name the day the window
  *starts* on: ``Fri 22:00-06:00`` is open on Friday night and until 06:00 on Saturday.
- START equal to END (``00:00-00:00``) is refused as ambiguous (empty or a whole day?), as
  the NodeGroup's ``allowedWindows`` are: ``00:00-23:59`` is the whole day but one minute,
  and no window at all means "any time".
- Across a DST change the wall clock decides: wall-clock times skipped by the change never
  fall in a window, and times that happen twice fall in it both times.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass

from autoscaler.core.annotation_text import quote_value
from autoscaler.core.resources.formats import TIME_ZONE_RE
from autoscaler.core.resources.scaling import ALL_DAYS, AllowedWindow, Weekday

__all__ = [
    "MAX_WINDOW_LENGTH",
    "TimeWindow",
    "TimeWindowError",
    "parse_time_window",
    "quote_value",
    "window_of",
]

MAX_WINDOW_LENGTH = 128
EXPECTED = 'expected "[DAYS ]HH:MM-HH:MM[ TZ]", such as "Mon-Fri 22:00-06:00 Europe/Berlin"'
_DAYS_BY_NAME = {day.value.lower(): day for day in ALL_DAYS}
_TIMES = re.compile(r"([0-9]{1,2}):([0-9]{2})-([0-9]{1,2}):([0-9]{2})")


class TimeWindowError(ValueError):
    """A time window's text or parts are malformed; the message says what was expected."""


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """A weekly window: on ``days``, from ``start`` (included) to ``end`` (excluded) in ``zone``.

    ``end < start`` wraps past midnight into the day after each of ``days``.
    """

    days: tuple[Weekday, ...]
    """Days on which the window opens, in week order, without repeats."""
    start: dt.time
    end: dt.time
    zone: dt.tzinfo = dt.UTC

    def __post_init__(self) -> None:
        if not self.days or tuple(d for d in ALL_DAYS if d in self.days) != self.days:
            raise TimeWindowError(f"days must be distinct and in week order, got {self.days}")
        for t in (self.start, self.end):
            if t.tzinfo is not None or t.second or t.microsecond:
                raise TimeWindowError(f"times must be naive whole minutes, got {t}")
        if self.start == self.end:
            raise TimeWindowError(f"start and end are both {self.start:%H:%M}; {_EQUAL_HINT}")

    @property
    def wraps(self) -> bool:
        """Whether the window runs past midnight into the next day."""
        return self.end < self.start

    def contains(self, at: dt.datetime) -> bool:
        """Whether the timezone-aware instant ``at`` falls in the window."""
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError(f"contains() needs a timezone-aware datetime, got {at!r}")
        local = at.astimezone(self.zone)
        wall = local.time()  # naive wall-clock time; fold does not affect comparisons
        today = ALL_DAYS[local.weekday()]
        if not self.wraps:
            return today in self.days and self.start <= wall < self.end
        yesterday = ALL_DAYS[(local.weekday() - 1) % 7]
        return (today in self.days and wall >= self.start) or (
            yesterday in self.days and wall < self.end
        )

    def __str__(self) -> str:
        days = "" if self.days == ALL_DAYS else _day_list(self.days) + " "
        return f"{days}{self.start:%H:%M}-{self.end:%H:%M} {self.zone}"


def _day_list(days: tuple[Weekday, ...]) -> str:
    """``Mon-Fri``, ``Mon,Wed``, ``Mon,Fri-Sun``: runs of three or more days as ranges."""
    runs: list[list[Weekday]] = []
    for day in days:
        if runs and ALL_DAYS.index(day) == ALL_DAYS.index(runs[-1][-1]) + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = [f"{r[0]}-{r[-1]}" if len(r) > 2 else ",".join(r) for r in runs]
    return ",".join(parts)


_EQUAL_HINT = (
    "a window from a time to itself is ambiguous: write 00:00-23:59 for (almost) a whole"
    " day, or set no window to allow any time"
)


def _fail(text: str, problem: str) -> TimeWindowError:
    return TimeWindowError(f"time window {quote_value(text)}: {problem}")


def _day(text: str, name: str) -> Weekday:
    day = _DAYS_BY_NAME.get(name.lower())
    if day is None:
        raise _fail(
            text, f"{quote_value(name)} is not a day; expected Mon, Tue, Wed, Thu, Fri, Sat or Sun"
        )
    return day


def _days(text: str, spec: str) -> tuple[Weekday, ...]:
    chosen: set[Weekday] = set()
    for item in spec.split(","):
        first, dash, last = item.partition("-")
        if not first or (dash and not last):
            raise _fail(text, f"{quote_value(spec)} is not a list of days; {_DAYS_HINT}")
        begin = ALL_DAYS.index(_day(text, first))
        if not dash:
            chosen.add(ALL_DAYS[begin])
            continue
        stop = ALL_DAYS.index(_day(text, last))
        if stop == begin:
            raise _fail(text, f"the day range {quote_value(item)} starts and ends on one day")
        chosen.update(ALL_DAYS[(begin + i) % 7] for i in range((stop - begin) % 7 + 1))
    return tuple(d for d in ALL_DAYS if d in chosen)


_DAYS_HINT = 'expected days or day ranges separated by commas, such as "Mon-Fri" or "Sat,Sun"'


def _times(text: str, spec: str) -> tuple[dt.time, dt.time]:
    match = _TIMES.fullmatch(spec)
    if match is None:
        raise _fail(
            text,
            f"{quote_value(spec)} is not a time range; expected HH:MM-HH:MM, such as 22:00-06:00",
        )
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    for hour, minute, shown in zip((h1, h2), (m1, m2), spec.split("-"), strict=True):
        if hour > 23 or minute > 59:
            raise _fail(text, f"{quote_value(shown)} is not a time of day; expected 00:00 to 23:59")
    start, end = dt.time(h1, m1), dt.time(h2, m2)
    if start == end:
        raise _fail(text, f"start and end are both {start:%H:%M}; {_EQUAL_HINT}")
    return start, end


def _zone(text: str, name: str) -> dt.tzinfo:
    if name == "UTC":
        return dt.UTC
    problem = (
        f"{quote_value(name)} is not a known IANA time zone; expected a name such as UTC,"
        " Europe/Berlin or America/New_York"
    )
    if name == "Local" or re.fullmatch(TIME_ZONE_RE, name) is None:
        raise _fail(text, problem)
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as err:
        raise _fail(text, problem) from err


def parse_time_window(text: str) -> TimeWindow:
    """Return the window ``text`` describes (grammar in the module docstring).

    Raises ``TimeWindowError`` naming the value and what was expected when ``text`` is
    malformed, too long, names an unknown time zone or has equal start and end.
    """
    if len(text) > MAX_WINDOW_LENGTH:
        raise TimeWindowError(
            f"time window {quote_value(text, 40)} is {len(text)} characters long;"
            f" at most {MAX_WINDOW_LENGTH} are allowed"
        )
    parts = text.split()
    if not parts:
        raise _fail(text, f"it is empty; {EXPECTED}")
    if len(parts) > 3:
        raise _fail(text, f"it has {len(parts)} parts, at most 3 are allowed; {EXPECTED}")
    days = ALL_DAYS
    if parts[0][0].isalpha():  # a time range starts with a digit, days with a letter
        days = _days(text, parts.pop(0))
    if not parts:
        raise _fail(text, f"it has no HH:MM-HH:MM time range; {EXPECTED}")
    start, end = _times(text, parts.pop(0))
    zone = _zone(text, parts.pop(0)) if parts else dt.UTC
    if parts:
        raise _fail(text, f"{quote_value(parts[0])} is unexpected after the time zone; {EXPECTED}")
    return TimeWindow(days=days, start=start, end=end, zone=zone)


def window_of(spec: AllowedWindow) -> TimeWindow:
    """Return the ``TimeWindow`` of one of a NodeGroup's ``scaleDown.allowedWindows``.

    Raises ``TimeWindowError`` when the spec's time zone is unknown here or its start
    equals its end (both are refused by the CRD's validation already).
    """
    text = f"{spec.start:%H:%M}-{spec.end:%H:%M} {spec.time_zone}"
    start = spec.start.replace(second=0, microsecond=0, tzinfo=None)
    end = spec.end.replace(second=0, microsecond=0, tzinfo=None)
    days = tuple(d for d in ALL_DAYS if d in spec.days)
    if start == end:
        raise _fail(text, f"start and end are both {start:%H:%M}; {_EQUAL_HINT}")
    return TimeWindow(days=days, start=start, end=end, zone=_zone(text, spec.time_zone))
