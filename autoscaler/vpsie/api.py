"""One typed async method per endpoint (C2-C3, K1-K7, V1-V7); C1 lives in ``auth.py``.

Methods build the request (``endpoints``), send it (``HttpClient.call``), and convert the
``data`` through the tolerant models to records of ``types.py``. Deletes by identifier treat
"not found" as success and return ``False`` ("was already gone"); gets return ``None`` when
the object does not exist.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import SecretStr

from autoscaler.vpsie import endpoints as ep
from autoscaler.vpsie import models as m
from autoscaler.vpsie import types as t
from autoscaler.vpsie import vm_models as vmm
from autoscaler.vpsie.envelope import Envelope
from autoscaler.vpsie.errors import Malformed, NotFound
from autoscaler.vpsie.request import ApiRequest

_MAX_PAGES = 100


class Caller(Protocol):
    """What the API needs from the HTTP client (``HttpClient`` or a test double)."""

    async def call(self, request: ApiRequest) -> Envelope:
        """Send one request and return its envelope."""


class VPSieApi:
    """The VPSie endpoints used by the autoscaler, typed."""

    def __init__(self, http: Caller, *, vm_prefix: str = "/api/v2/vm") -> None:
        self._http = http
        self.vm_prefix = ep.normalize_prefix(vm_prefix)

    async def list_datacenters(self) -> list[t.Datacenter]:
        """C2, paging by ``offset`` while ``total`` says there is more."""
        out: list[t.Datacenter] = []
        for _ in range(_MAX_PAGES):
            env = await self._http.call(ep.list_datacenters(offset=len(out)))
            page = m.parse_many(m.DatacenterModel, env.data, what="datacenters")
            out += [d.to_record() for d in page]
            if not page or env.total is None or env.total <= len(out):
                break
        return out

    async def list_projects(self) -> list[t.Project]:
        """C3: ``data.rows[]``."""
        env = await self._http.call(ep.list_projects())
        data = env.data if env.data is not None else {}
        return [p.to_record() for p in m.parse_one(m.ProjectsModel, data, what="projects").rows]

    async def list_clusters(self) -> list[t.ClusterSummary]:
        """K1."""
        env = await self._http.call(ep.list_clusters())
        return [
            c.to_record() for c in m.parse_many(m.ClusterSummaryModel, env.data, what="clusters")
        ]

    async def get_cluster(self, cluster: str) -> t.Cluster:
        """K2 (raises ``NotFound`` if the cluster does not exist)."""
        env = await self._http.call(ep.get_cluster(cluster))
        return m.parse_one(m.ClusterModel, env.data, what="cluster").to_record()

    async def list_node_groups(self, cluster: str) -> list[t.NodeGroup]:
        """K3."""
        env = await self._http.call(ep.list_node_groups(cluster))
        groups = m.parse_many(m.NodeGroupModel, env.data, what="node groups")
        return [g.to_record() for g in groups]

    async def add_worker(self, cluster: str, group_id: int) -> t.AddedWorker | None:
        """K4: ``None`` for ``data: true``, or the object when VPSie returned one."""
        env = await self._http.call(ep.add_worker(cluster, group_id))
        if isinstance(env.data, dict):
            try:
                return m.parse_one(m.AddedWorkerModel, env.data, what="added worker").to_record()
            except Malformed:
                return None  # accepted: the answer's shape does not change that
        return None

    async def delete_worker(self, cluster: str, node_identifier: str) -> bool:
        """K5: ``True`` if deleted now, ``False`` if it was already gone."""
        return await self._delete(ep.delete_worker(cluster, node_identifier))

    async def list_offers(self, dc_identifier: str) -> list[t.Offer]:
        """K6."""
        env = await self._http.call(ep.list_offers(dc_identifier))
        return [o.to_record() for o in m.parse_many(m.OfferModel, env.data, what="k8s offers")]

    async def add_group(self, cluster: str, *, group_name: str, kube_size_id: int) -> None:
        """K7 (setup and demo only). Find the new group by ``group_name`` in K3."""
        await self._http.call(
            ep.add_group(cluster, group_name=group_name, kube_size_id=kube_size_id)
        )

    async def list_vms(self, *, project_id: int | None = None) -> list[t.Vm]:
        """V1."""
        env = await self._http.call(ep.list_vms(vm_prefix=self.vm_prefix, project_id=project_id))
        return [v.to_record() for v in m.parse_many(vmm.VmModel, env.data, what="VMs")]

    async def get_vm(self, identifier: str) -> t.Vm | None:
        """V2: ``data.vmData``, or ``None`` if there is no such VM."""
        try:
            env = await self._http.call(ep.get_vm(identifier, vm_prefix=self.vm_prefix))
        except NotFound:
            return None
        return m.parse_one(vmm.VmGetModel, env.data, what="VM").vm_data.to_record()

    async def list_pending(self) -> list[t.PendingVm]:
        """V3."""
        env = await self._http.call(ep.list_pending())
        return [p.to_record() for p in m.parse_many(vmm.PendingModel, env.data, what="pending")]

    async def create_vm(self, spec: t.VmCreate) -> None:
        """V4. Returns no identifier: find the VM by hostname (V3, then V1)."""
        await self._http.call(ep.create_vm(spec, vm_prefix=self.vm_prefix))

    async def delete_vm(self, identifier: str, *, password: SecretStr, reason: str) -> bool:
        """V5: ``True`` if deleted now, ``False`` if already gone; wrong password raises."""
        request = ep.delete_vm(
            identifier, vm_prefix=self.vm_prefix, password=password, reason=reason
        )
        return await self._delete(request)

    async def list_plan_categories(self) -> list[t.PlanCategory]:
        """V6."""
        env = await self._http.call(ep.list_plan_categories())
        cats = m.parse_many(vmm.PlanCategoryModel, env.data, what="plan categories")
        return [c.to_record() for c in cats]

    async def list_plans(
        self, *, dc_identifier: str, os_identifier: str, category_identifier: str
    ) -> list[t.Plan]:
        """V7 (form-encoded)."""
        request = ep.list_plans(
            dc_identifier=dc_identifier,
            os_identifier=os_identifier,
            category_identifier=category_identifier,
        )
        env = await self._http.call(request)
        return [p.to_record() for p in m.parse_many(vmm.PlanModel, env.data, what="plans")]

    async def _delete(self, request: ApiRequest) -> bool:
        try:
            await self._http.call(request)
        except NotFound:
            return False
        return True
