"""Routes serving both modes: C1 token exchange, C2 datacenters, C3 projects, and the
catalogue reads K6 (k8s offers), V6 (plan categories) and V7 (plans, form-encoded only)."""

from __future__ import annotations

from autoscaler.simulator.envelope import Reply, error, json_reply, ok
from autoscaler.simulator.parsing import query_int, required
from autoscaler.simulator.routing import Call, Router
from autoscaler.simulator.views import price


def exchange_token(call: Call) -> Reply:
    """C1: client credentials (form or JSON) for a token, in both response shapes at once."""
    accepted = call.knobs.auth.exchange_encodings
    if call.body_kind in ("form", "json") and accepted not in ("both", call.body_kind):
        return error(415, "Unsupported Media Type")
    client_id, secret = required(call.body, "clientId"), required(call.body, "clientSecret")
    if not call.tokens.credentials_ok(str(client_id), str(secret)):
        return error(401, "Invalid client credentials")
    issued = call.tokens.issue(call.rng, now=call.now, ttl=call.knobs.auth.token_ttl)
    access = {"token": issued.access, "expires": call.stamp(issued.access_expires)}
    refresh = {"token": issued.refresh, "expires": call.stamp(issued.refresh_expires)}
    return json_reply(
        {
            "error": False,
            "token": {"access": access, "refresh": refresh},
            "accessToken": access,
            "refreshToken": refresh,
        }
    )


def list_datacenters(call: Call) -> Reply:
    """C2: honours a well-formed ``offset``/``limit``; ignores malformed ones."""
    dcs = [d.model_dump() for d in call.config.datacenters]
    offset = query_int(call.query.get("offset")) or 0
    limit = query_int(call.query.get("limit"))
    end = None if limit is None else offset + limit
    return ok(dcs[offset:end], total=len(dcs))


def list_projects(call: Call) -> Reply:
    """C3: ``{rows, count}``."""
    rows = [p.model_dump() for p in call.config.projects]
    return ok({"rows": rows, "count": len(rows)})


def list_offers(call: Call) -> Reply:
    """K6: the k8s offers of a datacenter (``id`` is the KubeSizeID)."""
    dc = str(required(call.body, "dcIdentifier"))
    offers = [
        {
            "id": o.id,
            "name": o.name,
            "cpu": o.cpu,
            "ram": o.ram,
            "disk": o.disk,
            "price": price(o.price, call.knobs),
            "hourly_price": o.hourly(),
        }
        for o in call.config.offers
        if not o.dcs or dc in o.dcs
    ]
    return ok(offers, total=len(offers))


def list_categories(call: Call) -> Reply:
    """V6: plan categories."""
    rows = [c.model_dump() for c in call.config.categories]
    return ok(rows, total=len(rows))


def list_plans(call: Call) -> Reply:
    """V7: plans of a category in a datacenter; only a form body is accepted (415 for JSON)."""
    if call.body_kind == "json":
        return error(415, "Unsupported Media Type")
    dc = str(required(call.body, "dcIdentifier"))
    category = str(required(call.body, "planCatIdentifier"))
    plans = [
        {
            "identifier": p.identifier,
            "nickname": p.nickname,
            "cpu": p.cpu,
            "ram": p.ram,
            "ssd": p.ssd,
            "traffic": p.traffic,
            "price": price(p.price, call.knobs),
            "net_speed": p.net_speed,
        }
        for p in call.config.plans
        if p.category == category and (not p.dcs or dc in p.dcs)
    ]
    return ok(plans, total=len(plans))


def add_routes(router: Router) -> None:
    """Add C1-C3, K6, V6 and V7."""
    router.add("C1", "POST", "/apps/v2/auth/from/api", exchange_token, public=True)
    router.add("C2", "GET", "/apps/v2/datacenter", list_datacenters)
    router.add("C3", "GET", "/apps/v2/projects", list_projects)
    router.add("K6", "POST", "/apps/v2/k8s/offers", list_offers)
    router.add("V6", "GET", "/api/v2/plans/category", list_categories)
    router.add("V7", "POST", "/apps/v2/resources", list_plans)
