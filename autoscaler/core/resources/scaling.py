"""``NodeGroup.spec.scaleUp`` and ``.scaleDown``, with Cluster Autoscaler's defaults."""

# ruff: noqa: RUF009 - prop() is a dataclasses.field() wrapper, not a call run per instance

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from typing import ClassVar

from autoscaler.core.resources import formats
from autoscaler.core.resources.meta import Meta, Rule, prop

DEFAULT_UTILIZATION_THRESHOLD = 0.5
DEFAULT_UNNEEDED_TIME = dt.timedelta(minutes=10)
DEFAULT_DELAY_AFTER_ADD = dt.timedelta(minutes=10)
MAX_WINDOWS = 16


class Weekday(enum.StrEnum):
    """A day of the week, as its three-letter English abbreviation."""

    MON = "Mon"
    TUE = "Tue"
    WED = "Wed"
    THU = "Thu"
    FRI = "Fri"
    SAT = "Sat"
    SUN = "Sun"


ALL_DAYS = tuple(Weekday)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AllowedWindow:
    """A weekly time window in which scale-down may remove nodes."""

    RULES: ClassVar[tuple[Rule, ...]] = (
        Rule(
            cel="self.start != self.end",
            message=(
                "start and end must differ; a window from 22:00 to 06:00 wraps past midnight,"
                " and omitting allowedWindows allows scale-down at any time"
            ),
            check=lambda w: w.start != w.end,
            field_path=".end",
        ),
    )

    days: tuple[Weekday, ...] = prop(
        "Days on which the window starts (Mon to Sun); every day by default.",
        default=ALL_DAYS,
        min_items=1,
        max_items=7,
        list_type="set",
        items=Meta(description="A day of the week: Mon, Tue, Wed, Thu, Fri, Sat or Sun."),
    )
    start: dt.time = prop("Time of day HH:MM at which the window opens, in timeZone.")
    end: dt.time = prop(
        "Time of day HH:MM at which the window closes, in timeZone; earlier than start means"
        " the window wraps past midnight into the next day."
    )
    time_zone: str = prop(
        "IANA time zone of start and end, such as Europe/Berlin.",
        default="UTC",
        max_length=64,
        rules=(formats.TIME_ZONE,),
    )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ScaleUp:
    """How the group grows when pods cannot be scheduled."""

    enabled: bool = prop(
        "Whether the autoscaler may add nodes to this group for unschedulable pods"
        " (minNodes is still enforced when false).",
        default=True,
    )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ScaleDown:
    """How and when the group's unneeded nodes are removed."""

    enabled: bool = prop(
        "Whether the autoscaler may remove unneeded nodes of this group.", default=True
    )
    utilization_threshold: float = prop(
        "A node is a scale-down candidate while the larger of its CPU and memory requests,"
        " over allocatable, stays below this fraction (Cluster Autoscaler's"
        " --scale-down-utilization-threshold).",
        default=DEFAULT_UTILIZATION_THRESHOLD,
        minimum=0,
        maximum=1,
    )
    unneeded_time: dt.timedelta = prop(
        "How long a node must stay unneeded before it is removed (Cluster Autoscaler's"
        " --scale-down-unneeded-time).",
        default=DEFAULT_UNNEEDED_TIME,
    )
    delay_after_add: dt.timedelta = prop(
        "How long after this group last grew before any of its nodes may be removed"
        " (Cluster Autoscaler's --scale-down-delay-after-add).",
        default=DEFAULT_DELAY_AFTER_ADD,
    )
    allowed_windows: tuple[AllowedWindow, ...] = prop(
        "Weekly windows in which nodes may be removed; outside them scale-down waits."
        " Empty or omitted: any time.",
        default=(),
        max_items=MAX_WINDOWS,
    )
