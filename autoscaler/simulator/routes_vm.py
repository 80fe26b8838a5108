"""VM routes V1-V5, under both ``/api/v2/vm`` and ``/apps/v2/vm`` (V3 only under /apps)."""

from __future__ import annotations

from typing import Any

from autoscaler.simulator import views
from autoscaler.simulator.envelope import Reject, Reply, bad_request, business, not_found, ok
from autoscaler.simulator.lifecycle import jittered, request_delete
from autoscaler.simulator.parsing import as_int, flag, query_int, required
from autoscaler.simulator.provisioning import create_vm
from autoscaler.simulator.routing import Call, Router
from autoscaler.simulator.world import Machine, Stage

VM_QUOTA = "VM count exceeds the allowed limit"
WRONG_PASSWORD = "You entered the wrong password"


def _listed_vms(call: Call) -> list[Machine]:
    mirror = call.knobs.shape.mirror_workers
    return [
        m
        for m in call.world.machines.values()
        if m.listed and (m.kind == "vm" or (m.kind == "worker" and mirror))
    ]


def list_vms(call: Call) -> Reply:
    """V1: listed VMs (and mirrored VKE workers), optionally of one ``projectId``."""
    vms = _listed_vms(call)
    project = query_int(call.query.get("projectId"))
    if project is not None:
        vms = [m for m in vms if m.project_id == project]
    rows = [views.vm_data(call.world, m) for m in vms]
    return ok(rows, total=len(rows))


def get_vm(call: Call) -> Reply:
    """V2: one VM, wrapped with its tags and IP data."""
    machine = next(
        (m for m in _listed_vms(call) if m.identifier == call.params["identifier"]), None
    )
    if machine is None:
        return not_found("VM")
    tags = machine.request.get("tags")
    private = [{"private_ip": machine.private_ip}] if machine.stage >= Stage.RUNNING else []
    return ok(
        {
            "vmData": views.vm_data(call.world, machine),
            "vmTags": [{"name": t} for t in tags] if isinstance(tags, list) else [],
            "imageCategories": [],
            "privateIpData": private if machine.private_ip else [],
            "floatingIpData": [],
        }
    )


def list_pending(call: Call) -> Reply:
    """V3: VMs accepted but not yet listed (and stuck ones, forever)."""
    rows = [
        views.pending_entry(call.world, m)
        for m in call.world.machines.values()
        if m.kind == "vm" and m.live and m.stage == Stage.PENDING and m.deleted_at is None
    ]
    return ok(rows, total=len(rows))


def _create_fields(call: Call) -> dict[str, Any]:
    body = call.body
    plan = call.world.plans.get(str(required(body, "resourceIdentifier")))
    os_id = str(required(body, "osIdentifier"))
    dc = str(required(body, "dcIdentifier"))
    hostname = str(required(body, "hostname")).strip()
    project = as_int(required(body, "projectId"))
    if plan is None:
        raise Reject(bad_request("resourceIdentifier is invalid"))
    if os_id not in call.world.os_ids:
        raise Reject(bad_request("osIdentifier is invalid"))
    if dc not in call.world.dcs or (plan.dcs and dc not in plan.dcs):
        raise Reject(bad_request("dcIdentifier is invalid"))
    if project is None or project not in call.world.projects:
        raise Reject(bad_request("projectId is invalid"))
    user_data = body.get("userData")
    strict = call.knobs.shape.numeric_flags_ignored
    return {
        "hostname": hostname,
        "plan": plan,
        "dc": dc,
        "project_id": project,
        "os_identifier": os_id,
        "public_ip": flag(body.get("addPublicIpV4"), strings_only=strict),
        "private_ip": flag(body.get("addPrivateIp"), strings_only=strict),
        "user_data": user_data if isinstance(user_data, str) else None,
        "request": dict(body),
    }


def create(call: Call) -> Reply:
    """V4: validate, queue (V3) and answer ``data: true`` with no identifier."""
    fields = _create_fields(call)
    limit = call.knobs.quota.max_vms
    live = sum(1 for m in call.world.machines.values() if m.kind == "vm" and m.live)
    if call.forced_quota or (limit is not None and live >= limit):
        return business(VM_QUOTA, status=call.knobs.business_error_status)
    create_vm(call.world, call.rng, call.knobs, now=call.now, **fields)
    return ok(True)


def delete(call: Call) -> Reply:
    """V5: needs the account password; the VM shows ``is_deleted=1`` until it is gone."""
    identifier = str(required(call.body, "vmIdentifier"))
    if call.body.get("password") != call.knobs.account_password:
        return business(WRONG_PASSWORD, status=call.knobs.business_error_status)
    statistic = call.body.get("deleteStatistic")
    reason = statistic.get("reason") if isinstance(statistic, dict) else None
    if not isinstance(reason, str) or not reason.strip():
        return bad_request("deleteStatistic.reason is required")
    machine = call.world.machines.get(identifier)
    if machine is None or not machine.live or machine.kind == "master":
        return not_found("VM")
    delay = jittered(call.rng, call.knobs.provision.delete_delay)
    request_delete(call.world, machine, now=call.now, delay=delay)
    return ok(True)


def add_routes(router: Router) -> None:
    """Add V1-V5; V3 comes before V2, whose ``{identifier}`` would also match ``pending``."""
    router.add("V3", "GET", "/apps/v2/vm/pending", list_pending)
    router.add("V1", "GET", "{vm}", list_vms)
    router.add("V2", "GET", "{vm}/{identifier}", get_vm)
    router.add("V4", "POST", "{vm}", create)
    router.add("V5", "DELETE", "{vm}", delete)
