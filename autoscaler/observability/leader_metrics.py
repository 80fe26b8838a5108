"""Leader-election metrics under client-go's name (``tools/leaderelection/metrics.go``).

``leader_election_master_status{name}`` is 1 while this replica holds the lease ``name`` and 0
while it is a backup, so existing dashboards and alerts keep working. Registered on an
explicitly passed ``CollectorRegistry``; feed it from the elector's ``on_change`` hook.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge

_HELP = (
    "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, "
    "1 indicates master. 'name' is the string used to identify the lease. "
    "Please make sure to group by name."
)


class LeaderElectionMetrics:
    """The ``leader_election_master_status`` gauge on one registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._status = Gauge("leader_election_master_status", _HELP, ["name"], registry=registry)

    def set_master_status(self, name: str, *, is_leader: bool) -> None:
        """Record whether this replica is the leader of lease ``name``."""
        self._status.labels(name=name).set(1 if is_leader else 0)
