"""Fixtures of the contract tests: a simulator per test, and clients of either mode.

``sim_config`` is the simulator's configuration; a test changes it by parametrizing
``sim_config`` directly. Knobs and fault rules are set at runtime through the admin API.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from autoscaler.simulator import SimulatorConfig
from tests.contract import Connected, Contract, open_contract
from tests.simulator import manual_config


@pytest.fixture
def sim_config() -> SimulatorConfig:
    return manual_config()


@pytest.fixture
async def contract(sim_config: SimulatorConfig) -> AsyncIterator[Contract]:
    async with open_contract(sim_config) as c:
        yield c


@pytest.fixture
async def vke(contract: Contract) -> AsyncIterator[Connected]:
    """A static-token client in vke mode, for the default cluster."""
    async with contract.connect(contract.config("vke")) as connected:
        yield connected


@pytest.fixture
async def vm(contract: Contract) -> AsyncIterator[Connected]:
    """A static-token client in vm mode, on the default VM prefix (``/api/v2/vm``)."""
    async with contract.connect(contract.config("vm")) as connected:
        yield connected
