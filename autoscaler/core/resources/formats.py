"""String formats Kubernetes and VPSie impose, as rules usable in CEL and in Python.

The Kubernetes ones use the API server's CEL ``format`` library, which runs apimachinery's
own validators; the Python predicates here re-implement those validators (same lengths,
same character classes) so the parser and the server agree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from autoscaler.core.resources.meta import Rule

_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
IDENTIFIER_RE = "^[A-Za-z0-9_-]+$"
HOSTNAME_PREFIX_RE = "^[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?$"
SECRET_KEY_RE = "^[-._a-zA-Z0-9]+$"
TIME_ZONE_RE = "^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$"
CONDITION_TYPE_RE = (
    "^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
)
CONDITION_REASON_RE = "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"
RESERVED_LABEL_PREFIX = "autoscaler.vpsie.com/"


def is_dns_label(text: str) -> bool:
    """An RFC 1123 label: lowercase alphanumerics and '-', at most 63 characters."""
    return len(text) <= 63 and _DNS_LABEL.fullmatch(text) is not None


def is_dns_subdomain(text: str) -> bool:
    """An RFC 1123 subdomain: dot-separated labels, at most 253 characters."""
    return len(text) <= 253 and _DNS_SUBDOMAIN.fullmatch(text) is not None


def is_qualified_name(text: str) -> bool:
    """A label or taint key: ``[prefix/]name``, name at most 63, prefix a DNS subdomain."""
    prefix, slash, name = text.rpartition("/")
    if slash and (not prefix or "/" in prefix or not is_dns_subdomain(prefix)):
        return False
    return 0 < len(name) <= 63 and _NAME.fullmatch(name) is not None


def is_label_value(text: str) -> bool:
    """A label value: empty, or at most 63 alphanumerics, '-', '_', '.' (alphanumeric ends)."""
    return text == "" or (len(text) <= 63 and _NAME.fullmatch(text) is not None)


def matches(pattern: str, message: str) -> Rule:
    """A rule requiring the string to match ``pattern`` (anchored, RE2 and Python syntax)."""
    if "\\" in pattern or "'" in pattern:
        raise ValueError(f"pattern must not need CEL escaping: {pattern!r}")
    return Rule(
        cel=f"self.matches('{pattern}')",
        message=message,
        check=lambda value: re.fullmatch(pattern, value) is not None,
    )


QUALIFIED_NAME = Rule(
    cel="!format.qualifiedName().validate(self).hasValue()",
    message=(
        "must be a qualified name: an optional DNS subdomain prefix and '/', then at most"
        " 63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric"
    ),
    check=is_qualified_name,
)
LABEL_VALUE = Rule(
    cel="!format.labelValue().validate(self).hasValue()",
    message=(
        "must be a label value: empty, or at most 63 alphanumerics, '-', '_' or '.',"
        " starting and ending with an alphanumeric"
    ),
    check=is_label_value,
)
DNS_SUBDOMAIN = Rule(
    cel="!format.dns1123Subdomain().validate(self).hasValue()",
    message="must be a lowercase RFC 1123 subdomain (a Kubernetes object name)",
    check=is_dns_subdomain,
)
DNS_LABEL = Rule(
    cel="!format.dns1123Label().validate(self).hasValue()",
    message="must be a lowercase RFC 1123 label of at most 63 characters",
    check=is_dns_label,
)
IDENTIFIER = matches(IDENTIFIER_RE, "must be a VPSie identifier: letters, digits, '-' and '_'")
HOSTNAME_PREFIX = matches(
    HOSTNAME_PREFIX_RE,
    "must be 1 to 20 lowercase alphanumerics or '-', starting and ending with an alphanumeric",
)
SECRET_KEY = matches(SECRET_KEY_RE, "must be a Secret key: alphanumerics, '-', '_' or '.'")
TIME_ZONE = Rule(
    cel=(
        f"self.matches('{TIME_ZONE_RE}') && self != 'Local'"
        " && timestamp('2000-01-01T00:00:00Z').getHours(self) >= 0"
    ),
    message="must be an IANA time zone name such as UTC, Europe/Berlin or America/New_York",
    check=lambda value: re.fullmatch(TIME_ZONE_RE, value) is not None and value != "Local",
)
LABEL_KEYS = Rule(
    cel="self.all(k, !format.qualifiedName().validate(k).hasValue())",
    message=f"every label key {QUALIFIED_NAME.message}",
    check=lambda labels: all(is_qualified_name(k) for k in labels),
)
LABEL_VALUES = Rule(
    cel="self.all(k, !format.labelValue().validate(self[k]).hasValue())",
    message=f"every label value {LABEL_VALUE.message}",
    check=lambda labels: all(is_label_value(v) for v in labels.values()),
)


def _no_reserved_keys(labels: Mapping[str, str]) -> bool:
    return not any(k.startswith(RESERVED_LABEL_PREFIX) for k in labels)


NO_RESERVED_LABELS = Rule(
    cel=f"self.all(k, !k.startsWith('{RESERVED_LABEL_PREFIX}'))",
    message=(
        f"labels under {RESERVED_LABEL_PREFIX} are set by the autoscaler itself and cannot be"
        " given in the template"
    ),
    check=_no_reserved_keys,
)
