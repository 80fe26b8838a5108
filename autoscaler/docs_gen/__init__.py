"""The generated user documentation: pages rendered from the settings and resource models.

``PAGES`` maps each generated file (relative to the repository root) to the function that
renders it. ``python -m autoscaler.docs_gen`` (``make docs``) writes them; with ``--check``
it only reports the ones that differ, as ``tests/test_docs.py`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from autoscaler.docs_gen.nodegroup_page import nodegroup_page
from autoscaler.docs_gen.settings_page import configuration_page

PAGES: Mapping[str, Callable[[], str]] = {
    "docs/configuration.md": configuration_page,
    "docs/nodegroup.md": nodegroup_page,
}
REGENERATE = "make docs (or: python -m autoscaler.docs_gen)"

__all__ = ["PAGES", "REGENERATE"]
