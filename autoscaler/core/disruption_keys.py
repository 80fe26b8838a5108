"""Node-level opt-outs from scale-down: the keys of all three projects, parsed strictly.

Keys read (reference-behaviour §2.4), in the order they are checked:

=========================================================  ==========  ======================
key                                                        on          values
=========================================================  ==========  ======================
``autoscaler.vpsie.com/protected``                         annotation  ``true`` / ``false``
``autoscaler.vpsie.com/scale-down-disabled``               label       ``true`` / ``false``
``autoscaler.vpsie.com/scale-down-disabled``               annotation  ``true`` / ``false``
``autoscaler.vpsie.com/scale-down``                        annotation  ``disabled``/``enabled``
``cluster-autoscaler.kubernetes.io/scale-down-disabled``   annotation  ``true`` / ``false``
``karpenter.sh/do-not-disrupt``                            annotation  ``true`` / ``false``
``autoscaler.vpsie.com/scale-down-allowed-hours``          annotation  a time window
=========================================================  ==========  ======================

``scale-down-disabled`` is a label in the VPSie v0.7.0 controller; the same key as an
annotation is honoured too, since blocking on it is the safe reading of a user's intent.

Values are compared exactly: lowercase, no surrounding spaces. ``"True"`` or ``"yes"`` is
*malformed*, not a synonym: CA and Karpenter compare with ``== "true"`` too, so a value that
only looks right would be ignored by them, and we would rather say so than guess. A value
longer than ``MAX_VALUE_LENGTH``, or the projection's ``<too long: N characters>`` marker,
is malformed as well. The time window's grammar is in ``autoscaler.core.time_window``.

Fail safe: a malformed value blocks disruption like an opt-out does, and its message names
the key and the value, for the warning Event the shell writes. Unlike the VPSie v0.7.0
controller, a malformed allowed-hours value does not allow scale-down, and its times are in
UTC (or the zone it names), not in the controller's local time.

``node_opt_outs`` checks malformed values first, every key in the order above, so that
a broken value is always reported, even on a node another key protects; then the opt-outs
themselves in the same order; then the allowed-hours window.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from autoscaler.core.annotation_text import (
    MAX_VALUE_LENGTH,
    describe_value,
    oversize,
    quote_value,
)
from autoscaler.core.records import NodeRecord, lookup
from autoscaler.core.time_window import (
    MAX_WINDOW_LENGTH,
    TimeWindow,
    TimeWindowError,
    parse_time_window,
)

__all__ = [
    "ALLOWED_HOURS",
    "CA_SCALE_DOWN_DISABLED",
    "KARPENTER_DO_NOT_DISRUPT",
    "MAX_VALUE_LENGTH",
    "PROTECTED",
    "SCALE_DOWN",
    "SCALE_DOWN_DISABLED_LABEL",
    "OptOut",
    "OptOutReason",
    "node_opt_out",
    "node_opt_outs",
]

PROTECTED = "autoscaler.vpsie.com/protected"
SCALE_DOWN_DISABLED_LABEL = "autoscaler.vpsie.com/scale-down-disabled"
SCALE_DOWN = "autoscaler.vpsie.com/scale-down"
CA_SCALE_DOWN_DISABLED = "cluster-autoscaler.kubernetes.io/scale-down-disabled"
KARPENTER_DO_NOT_DISRUPT = "karpenter.sh/do-not-disrupt"
ALLOWED_HOURS = "autoscaler.vpsie.com/scale-down-allowed-hours"
"""Longest value read; the projection (``MAX_ANNOTATION_LENGTH``) replaces longer ones."""


class OptOutReason(enum.StrEnum):
    """Why a node's own keys keep it; the values are ``KeptReason`` values as well."""

    MALFORMED_ANNOTATION = "MalformedAnnotation"
    SCALE_DOWN_DISABLED_ANNOTATION = "ScaleDownDisabledAnnotation"
    OUTSIDE_ALLOWED_WINDOW = "OutsideAllowedWindow"


@dataclass(frozen=True, slots=True)
class OptOut:
    """One reason a node's keys block its disruption, with a message for people."""

    reason: OptOutReason
    key: str
    value: str
    message: str

    @property
    def warning(self) -> bool:
        """Whether the user should be warned (a malformed value), not just informed."""
        return self.reason is OptOutReason.MALFORMED_ANNOTATION


@dataclass(frozen=True, slots=True)
class _Flag:
    """A key whose value is one of two words: ``blocks`` opts out, ``allows`` does not."""

    key: str
    on_labels: bool
    blocks: str
    allows: str

    @property
    def kind(self) -> str:
        return "label" if self.on_labels else "annotation"


FLAGS = (
    _Flag(PROTECTED, on_labels=False, blocks="true", allows="false"),
    _Flag(SCALE_DOWN_DISABLED_LABEL, on_labels=True, blocks="true", allows="false"),
    _Flag(SCALE_DOWN_DISABLED_LABEL, on_labels=False, blocks="true", allows="false"),
    _Flag(SCALE_DOWN, on_labels=False, blocks="disabled", allows="enabled"),
    _Flag(CA_SCALE_DOWN_DISABLED, on_labels=False, blocks="true", allows="false"),
    _Flag(KARPENTER_DO_NOT_DISRUPT, on_labels=False, blocks="true", allows="false"),
)
"""The two-word keys, in the order they are checked."""


_BLOCKED = "scale-down of this node is blocked until the value is fixed or removed"


def _malformed(kind: str, key: str, value: str, problem: str) -> OptOut:
    message = f"node {kind} {key} {problem}; {_BLOCKED}"
    return OptOut(OptOutReason.MALFORMED_ANNOTATION, key, value, message)


def _flag_problem(flag: _Flag, value: str) -> str | None:
    """What is wrong with a two-word key's value, or ``None`` when it is one of the words."""
    if value in (flag.blocks, flag.allows):
        return None
    return f'{describe_value(value)}; expected "{flag.blocks}" or "{flag.allows}" (lowercase)'


def _window(value: str) -> TimeWindow | str:
    """The window of an allowed-hours value, or what is wrong with the value."""
    size = oversize(value)
    if size:
        return f"is {size} characters long; expected a time window of at most {MAX_WINDOW_LENGTH}"
    try:
        return parse_time_window(value)
    except TimeWindowError as err:
        return f"is malformed: {err}"


def _outside(hours: str, window: TimeWindow, now: dt.datetime) -> OptOut:
    local = now.astimezone(window.zone)
    message = (
        f"node annotation {ALLOWED_HOURS}={quote_value(hours)} allows scale-down only in"
        f" the window {window}; it is {local:%a %H:%M} there now"
    )
    return OptOut(OptOutReason.OUTSIDE_ALLOWED_WINDOW, ALLOWED_HOURS, hours, message)


def node_opt_outs(node: NodeRecord, now: dt.datetime) -> tuple[OptOut, ...]:
    """Return every reason ``node``'s own keys block scale-down at ``now``, in check order.

    One entry per malformed value (each deserves a warning), then one per opt-out, then the
    allowed-hours window when ``now`` is outside it. Empty: the node's keys allow it.
    """
    malformed: list[OptOut] = []
    opted_out: list[OptOut] = []
    for flag in FLAGS:
        value = lookup(node.labels if flag.on_labels else node.annotations, flag.key)
        if value is None:
            continue
        problem = _flag_problem(flag, value)
        if problem is not None:
            malformed.append(_malformed(flag.kind, flag.key, value, problem))
        elif value == flag.blocks:
            message = f'node {flag.kind} {flag.key}="{value}" disables scale-down of this node'
            opted_out.append(
                OptOut(OptOutReason.SCALE_DOWN_DISABLED_ANNOTATION, flag.key, value, message)
            )
    hours = lookup(node.annotations, ALLOWED_HOURS)
    window = _window(hours) if hours is not None else None
    if hours is not None and isinstance(window, str):
        malformed.append(_malformed("annotation", ALLOWED_HOURS, hours, window))
    elif hours is not None and isinstance(window, TimeWindow) and not window.contains(now):
        opted_out.append(_outside(hours, window, now))
    return (*malformed, *opted_out)


def node_opt_out(node: NodeRecord, now: dt.datetime) -> OptOut | None:
    """Return the first reason ``node``'s own keys block scale-down at ``now``, or ``None``."""
    found = node_opt_outs(node, now)
    return found[0] if found else None
