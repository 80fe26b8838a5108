"""Time windows parse strictly and contain the right instants (review LOW-4)."""

from __future__ import annotations

import contextlib
import datetime as dt
import zoneinfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autoscaler.core.resources.scaling import AllowedWindow, Weekday
from autoscaler.core.time_window import (
    TimeWindow,
    TimeWindowError,
    parse_time_window,
    quote_value,
    window_of,
)

MON, TUE, WED, THU, FRI, SAT, SUN = tuple(Weekday)
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("text", "days", "start", "end", "zone"),
    [
        pytest.param("22:00-06:00", tuple(Weekday), "22:00", "06:00", dt.UTC, id="every-day"),
        pytest.param(
            "Mon-Fri 09:00-17:00",
            (MON, TUE, WED, THU, FRI),
            "09:00",
            "17:00",
            dt.UTC,
            id="day-range",
        ),
        pytest.param(
            "Sat,Sun 00:00-23:59 Europe/Berlin",
            (SAT, SUN),
            "00:00",
            "23:59",
            BERLIN,
            id="day-list-and-zone",
        ),
        pytest.param(
            "Mon-Fri 22:00-06:00 America/New_York",
            (MON, TUE, WED, THU, FRI),
            "22:00",
            "06:00",
            NEW_YORK,
            id="range-wrapping-midnight-and-zone",
        ),
        pytest.param(
            "Fri-Mon 10:00-11:00",
            (MON, FRI, SAT, SUN),
            "10:00",
            "11:00",
            dt.UTC,
            id="day-range-wrapping-the-week",
        ),
        pytest.param(
            "Mon,Wed-Thu,Sun 10:00-11:00",
            (MON, WED, THU, SUN),
            "10:00",
            "11:00",
            dt.UTC,
            id="ranges-and-days-mixed",
        ),
        pytest.param(
            "Mon-Wed,Tue-Thu 10:00-11:00",
            (MON, TUE, WED, THU),
            "10:00",
            "11:00",
            dt.UTC,
            id="overlapping-items-merge",
        ),
        pytest.param(
            "mon-FRI 9:05-17:00",
            (MON, TUE, WED, THU, FRI),
            "09:05",
            "17:00",
            dt.UTC,
            id="day-names-in-any-case-one-digit-hour",
        ),
        pytest.param(
            "  Sat\t01:00-02:00   UTC ", (SAT,), "01:00", "02:00", dt.UTC, id="extra-whitespace"
        ),
        pytest.param("00:00-23:59", tuple(Weekday), "00:00", "23:59", dt.UTC, id="whole-day"),
    ],
)
def test_parse_time_window_valid_forms(
    text: str, days: tuple[Weekday, ...], start: str, end: str, zone: dt.tzinfo
) -> None:
    assert parse_time_window(text) == TimeWindow(
        days=days, start=dt.time.fromisoformat(start), end=dt.time.fromisoformat(end), zone=zone
    )


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        pytest.param("22:00-06:00", "22:00-06:00 UTC", id="every-day"),
        pytest.param(
            "mon-fri 9:00-17:00 Europe/Berlin", "Mon-Fri 09:00-17:00 Europe/Berlin", id="range"
        ),
        pytest.param("Fri-Mon 10:00-11:00", "Mon,Fri-Sun 10:00-11:00 UTC", id="week-wrap"),
        pytest.param("Sun,Sat 10:00-11:00", "Sat,Sun 10:00-11:00 UTC", id="two-days"),
    ],
)
def test_parse_time_window_prints_a_form_it_reads_back(text: str, shown: str) -> None:
    window = parse_time_window(text)
    assert str(window) == shown
    assert parse_time_window(shown) == window


@pytest.mark.parametrize(
    ("text", "at", "inside"),
    [
        pytest.param("Fri 22:00-06:00", "2026-07-31T22:00+00:00", True, id="opens-friday-22"),
        pytest.param(
            "Fri 22:00-06:00", "2026-08-01T03:00+00:00", True, id="saturday-03-belongs-to-friday"
        ),
        pytest.param("Fri 22:00-06:00", "2026-08-01T06:00+00:00", False, id="end-is-excluded"),
        pytest.param("Fri 22:00-06:00", "2026-07-31T21:59+00:00", False, id="before-start"),
        pytest.param(
            "Fri 22:00-06:00", "2026-07-31T03:00+00:00", False, id="friday-03-belongs-to-thursday"
        ),
        pytest.param(
            "Fri 22:00-06:00", "2026-08-01T22:30+00:00", False, id="saturday-night-not-listed"
        ),
        pytest.param("Sun 23:00-01:00", "2026-08-03T00:30+00:00", True, id="sunday-into-monday"),
        pytest.param("Mon-Fri 09:00-17:00", "2026-08-03T09:00+00:00", True, id="start-included"),
        pytest.param("Mon-Fri 09:00-17:00", "2026-08-01T10:00+00:00", False, id="weekend"),
        pytest.param("22:00-06:00", "2026-08-01T23:59:59+00:00", True, id="every-day-late"),
        pytest.param("22:00-06:00", "2026-08-01T12:00+00:00", False, id="every-day-noon"),
    ],
)
def test_parse_time_window_wraps_past_midnight_with_days(text: str, at: str, inside: bool) -> None:
    assert parse_time_window(text).contains(dt.datetime.fromisoformat(at)) is inside


@pytest.mark.parametrize(
    ("text", "at", "inside"),
    [
        pytest.param(
            "Sat,Sun 00:00-23:59 Europe/Berlin",
            "2026-07-31T22:30+00:00",
            True,
            id="berlin-saturday-starts-at-22-utc",
        ),
        pytest.param(
            "Sat,Sun 00:00-23:59 Europe/Berlin",
            "2026-08-02T22:30+00:00",
            False,
            id="berlin-monday-00-30",
        ),
        pytest.param(
            "Mon-Fri 22:00-06:00 America/New_York",
            "2026-08-01T03:00+00:00",
            True,
            id="new-york-friday-23",
        ),
        pytest.param(
            "Mon-Fri 22:00-06:00 America/New_York",
            "2026-08-01T09:00+00:00",
            True,
            id="new-york-saturday-05-belongs-to-friday",
        ),
        pytest.param(
            "Mon-Fri 22:00-06:00 America/New_York",
            "2026-08-01T10:00+00:00",
            False,
            id="new-york-saturday-06",
        ),
        pytest.param(
            "Mon-Fri 22:00-06:00 America/New_York",
            "2026-08-03T03:00+00:00",
            False,
            id="new-york-sunday-23",
        ),
        pytest.param(
            "09:00-17:00 Europe/Berlin",
            "2026-08-03T09:00+02:00",
            True,
            id="instant-given-in-another-offset",
        ),
        pytest.param(
            "Sun 01:00-04:00 America/New_York",
            "2026-03-08T06:59+00:00",
            True,
            id="dst-spring-forward-01-59-est",
        ),
        pytest.param(
            "Sun 01:00-04:00 America/New_York",
            "2026-03-08T07:00+00:00",
            True,
            id="dst-spring-forward-03-00-edt",
        ),
        pytest.param(
            "Sun 01:00-04:00 America/New_York",
            "2026-03-08T08:00+00:00",
            False,
            id="dst-spring-forward-04-00-edt",
        ),
        pytest.param(
            "Sun 01:00-02:00 America/New_York",
            "2026-11-01T05:30+00:00",
            True,
            id="dst-fall-back-first-01-30",
        ),
        pytest.param(
            "Sun 01:00-02:00 America/New_York",
            "2026-11-01T06:30+00:00",
            True,
            id="dst-fall-back-second-01-30",
        ),
        pytest.param(
            "Sun 01:00-02:00 America/New_York",
            "2026-11-01T07:00+00:00",
            False,
            id="dst-fall-back-02-00-est",
        ),
    ],
)
def test_parse_time_window_time_zones(text: str, at: str, inside: bool) -> None:
    assert parse_time_window(text).contains(dt.datetime.fromisoformat(at)) is inside


def test_parse_time_window_skipped_hour_is_never_inside() -> None:
    window = parse_time_window("Sun 02:00-02:30 America/New_York")
    day = dt.datetime(2026, 3, 8, tzinfo=NEW_YORK).astimezone(dt.UTC)
    minutes = [day + dt.timedelta(minutes=m) for m in range(24 * 60)]
    assert not any(window.contains(at) for at in minutes)


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        pytest.param("", ['time window ""', "it is empty", "[DAYS ]HH:MM-HH:MM[ TZ]"], id="empty"),
        pytest.param("   ", ["it is empty"], id="blank"),
        pytest.param(
            "25:00-xx", ['"25:00-xx" is not a time range', "HH:MM-HH:MM"], id="not-a-time-range"
        ),
        pytest.param(
            "25:00-06:00", ['"25:00" is not a time of day', "00:00 to 23:59"], id="hour-25"
        ),
        pytest.param("10:00-24:00", ['"24:00" is not a time of day'], id="hour-24"),
        pytest.param("10:60-11:00", ['"10:60" is not a time of day'], id="minute-60"),
        pytest.param("10-11", ['"10-11" is not a time range'], id="no-minutes"),
        pytest.param("10:0-11:00", ['"10:0-11:00" is not a time range'], id="one-digit-minute"),
        pytest.param("010:00-11:00", ["is not a time range"], id="three-digit-hour"),
        pytest.param("\u0661\u0660:00-11:00", ["is not a time range"], id="non-ascii-digits"),
        pytest.param("10:00 - 11:00", ['"10:00" is not a time range'], id="spaces-around-dash"),
        pytest.param(
            "00:00-00:00",
            ["start and end are both 00:00", "ambiguous", "00:00-23:59"],
            id="midnight-to-midnight",
        ),
        pytest.param("Mon 09:00-09:00", ["start and end are both 09:00"], id="start-equals-end"),
        pytest.param(
            "Mo 10:00-11:00",
            ['"Mo" is not a day', "Mon, Tue, Wed, Thu, Fri, Sat"],
            id="short-day-name",
        ),
        pytest.param("Monday 10:00-11:00", ['"Monday" is not a day'], id="long-day-name"),
        pytest.param(
            "Mon-Mon 10:00-11:00", ['"Mon-Mon" starts and ends on one day'], id="range-of-one-day"
        ),
        pytest.param(
            "Mon,,Tue 10:00-11:00", ['"Mon,,Tue" is not a list of days'], id="empty-list-item"
        ),
        pytest.param("Mon, 10:00-11:00", ['"Mon," is not a list of days'], id="trailing-comma"),
        pytest.param("Mon- 10:00-11:00", ['"Mon-" is not a list of days'], id="open-range"),
        pytest.param("Mon-Tue-Wed 10:00-11:00", ['"Tue-Wed" is not a day'], id="double-range"),
        pytest.param("Mon", ["no HH:MM-HH:MM time range"], id="days-only"),
        pytest.param(
            "10:00-11:00 Mars/Olympus",
            ['"Mars/Olympus" is not a known IANA time zone', "Europe/Berlin"],
            id="unknown-zone",
        ),
        pytest.param(
            "10:00-11:00 europe/berlin", ['"europe/berlin" is not a known'], id="zone-in-wrong-case"
        ),
        pytest.param("10:00-11:00 Local", ['"Local" is not a known'], id="local-zone"),
        pytest.param(
            "10:00-11:00 ../../etc/passwd",
            ["is not a known IANA time zone"],
            id="zone-path-traversal",
        ),
        pytest.param(
            "10:00-11:00 /etc/localtime", ["is not a known IANA time zone"], id="zone-absolute-path"
        ),
        pytest.param("10:00-11:00 America", ['"America" is not a known'], id="zone-directory"),
        pytest.param("Mon 10:00-11:00 UTC later", ["it has 4 parts, at most 3"], id="four-parts"),
        pytest.param(
            "10:00-11:00 UTC UTC", ['"UTC" is unexpected after the time zone'], id="two-zones"
        ),
        pytest.param(
            "Mon " * 40 + "10:00-11:00",
            ["is 171 characters long", "at most 128"],
            id="over-128-characters",
        ),
        pytest.param("<too long: 5000 characters>", ["it has 4 parts"], id="projection-marker"),
        pytest.param(
            'Mon\n"x" 10:00-11:00',
            [r'time window "Mon\n\"x\" 10:00-11:00"'],
            id="control-characters-escaped",
        ),
    ],
)
def test_parse_time_window_refuses_malformed(text: str, fragments: list[str]) -> None:
    with pytest.raises(TimeWindowError) as caught:
        parse_time_window(text)
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_parse_time_window_error_is_a_value_error() -> None:
    assert issubclass(TimeWindowError, ValueError)


@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        pytest.param("Mon-Fri", '"Mon-Fri"', id="plain"),
        pytest.param("x" * 100, '"' + "x" * 80 + '..."', id="cut-after-80"),
        pytest.param('a"b', r'"a\"b"', id="quote"),
        pytest.param("a\nb\tc", r'"a\nb\tc"', id="control-characters"),
        pytest.param("a\x7fb", r'"a\u007fb"', id="delete-character"),
        pytest.param("a\u202eb", r'"a\u202eb"', id="text-direction-override"),
        pytest.param("caf\u00e9", r'"caf\u00e9"', id="non-ascii"),
    ],
)
def test_parse_time_window_quotes_values_safely(value: str, quoted: str) -> None:
    assert quote_value(value) == quoted


def test_contains_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_time_window("10:00-11:00").contains(dt.datetime(2026, 8, 1, 10, 30))


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param(
            AllowedWindow(start=dt.time(22), end=dt.time(6)),
            "22:00-06:00 UTC",
            id="defaults",
        ),
        pytest.param(
            AllowedWindow(
                days=(FRI, MON), start=dt.time(9), end=dt.time(17), time_zone="Europe/Berlin"
            ),
            "Mon,Fri 09:00-17:00 Europe/Berlin",
            id="days-sorted-and-zone",
        ),
    ],
)
def test_window_of_reads_a_nodegroup_allowed_window(spec: AllowedWindow, expected: str) -> None:
    assert window_of(spec) == parse_time_window(expected)


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        pytest.param(
            AllowedWindow(start=dt.time(1), end=dt.time(1)), "both 01:00", id="start-equals-end"
        ),
        pytest.param(
            AllowedWindow(start=dt.time(1), end=dt.time(2), time_zone="Mars/Olympus"),
            '"Mars/Olympus" is not a known IANA time zone',
            id="unknown-zone",
        ),
    ],
)
def test_window_of_refuses_what_the_crd_refuses(spec: AllowedWindow, fragment: str) -> None:
    with pytest.raises(TimeWindowError, match=fragment):
        window_of(spec)


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"days": ()}, id="no-days"),
        pytest.param({"days": (TUE, MON)}, id="days-out-of-order"),
        pytest.param({"days": (MON, MON)}, id="repeated-day"),
        pytest.param({"start": dt.time(1, 0, 30)}, id="seconds"),
        pytest.param({"end": dt.time(1, tzinfo=dt.UTC)}, id="aware-time"),
        pytest.param({"start": dt.time(2)}, id="start-equals-end"),
    ],
)
def test_time_window_refuses_inconsistent_parts(kwargs: dict[str, object]) -> None:
    parts: dict[str, object] = {"days": (MON,), "start": dt.time(1), "end": dt.time(2), **kwargs}
    with pytest.raises(TimeWindowError):
        TimeWindow(**parts)  # type: ignore[arg-type]


_TOKENS = st.sampled_from(
    [
        "Mon",
        "fri",
        "Sun",
        "-",
        ",",
        " ",
        ":",
        "0",
        "1",
        "2",
        "5",
        "9",
        "22:00",
        "06:00",
        "UTC",
        "Europe/Berlin",
        "America/New_York",
        "Mars",
        "/",
        "x",
        "\n",
        "\u00e9",
    ]
)


@given(st.lists(_TOKENS, max_size=12).map("".join) | st.text(max_size=140))
def test_parse_time_window_raises_only_time_window_errors(text: str) -> None:
    with contextlib.suppress(TimeWindowError):  # anything else fails the test
        parse_time_window(text)


@given(
    st.sampled_from(
        [
            "22:00-06:00",
            "Mon-Fri 09:00-17:00 Europe/Berlin",
            "Fri-Mon 23:30-00:30 America/New_York",
            "Sun 02:00-03:00 America/New_York",
            "Sat,Sun 01:00-02:00 Australia/Lord_Howe",
        ]
    ),
    st.datetimes(
        min_value=dt.datetime(2020, 1, 1),
        max_value=dt.datetime(2035, 1, 1),
        timezones=st.timezones(),
    ),
)
def test_parse_time_window_contains_any_aware_instant_without_error(
    text: str, at: dt.datetime
) -> None:
    window = parse_time_window(text)
    assert window.contains(at) is window.contains(at.astimezone(dt.UTC))
