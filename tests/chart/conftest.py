"""Chart fixtures: a session-wide helm (built if missing) with private directories."""

from __future__ import annotations

import pytest

from tests.chart.helm import Helm, HelmBuildFailed, helm_binary


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    """helm of ``HELM_VERSION`` from the tool cache."""
    failure = ""
    try:
        binary = helm_binary()
    except HelmBuildFailed as err:
        failure = str(err)
    if failure:
        pytest.fail(failure, pytrace=False)
    return Helm(binary, tmp_path_factory.mktemp("helm"))
