"""The demo from start to end: set up, apply, watch the scale-up, shrink the workload,
watch the scale-down (``demo.run_down``), summarise, stop everything.

``main(argv)`` returns the exit code: 0 when every pod of the workload runs within the
deadline, the cluster then settles after the shrink within the deadline too, and no process
is left; 1 when either did not happen in time or something failed; 3 when the run worked
but a process could not be stopped; 130 on Ctrl-C/SIGTERM.
"""

from __future__ import annotations

import argparse
import datetime as dt
import signal
import sys
import time
from collections.abc import Sequence

from autoscaler.core.resources.common import GROUP, VERSION
from demo import scenario
from demo.metrics import Metrics, scrape
from demo.observe import NOT_TRIGGERED, Reading, read
from demo.progress import Printer
from demo.run_down import scale_down
from demo.stack import Stack, forward_sigterm
from demo.summary import Outcome, monthly_total, render
from demo.summary_down import render_down
from tests.e2e.simproc import SimulatorError
from tests.testenv import ApiError

DEFAULT_TIMEOUT = 300.0
POLL = 0.5
K4 = "K4"
OK, FAILED, LEFTOVER, INTERRUPTED = 0, 1, 3, 130


class DemoFailed(RuntimeError):
    """The workload did not run in time, the scale-down did not settle, or a step failed."""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line of ``python -m demo``."""
    parser = argparse.ArgumentParser(
        prog="python -m demo",
        description=(
            "Start a local Kubernetes control plane (kwok nodes), the VPSie API simulator and "
            "the vpsie-autoscaler daemon; apply three NodeGroups and a workload that fits on "
            "no node; show the scale-up live; then shrink the workload and show the "
            "scale-down live until the cluster settles; summarise both. Needs no VPSie "
            "account. Every process it starts is stopped before it exits."
        ),
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=(
            "seconds the workload may take to run, from being applied, and again the cluster "
            "to settle once the workload shrinks (default %(default)s)"
        ),
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo on a private control plane; see the module docstring for exit codes."""
    args = parse_args(argv)
    forward_sigterm()
    printer = Printer(sys.stdout, want=scenario.total_pods())
    return demo(Stack(), printer, timeout=args.timeout)


def demo(stack: Stack, printer: Printer, *, timeout: float = DEFAULT_TIMEOUT) -> int:
    """Set up, apply, watch and summarise; then stop what ``stack`` started. The exit code."""
    code = FAILED
    try:
        code = _run(stack, printer, timeout=timeout)
    except KeyboardInterrupt:
        printer.finish()
        printer.say("interrupted")
        code = INTERRUPTED
    except (AssertionError, ApiError, OSError, RuntimeError, SimulatorError) as err:
        printer.finish()
        printer.say(f"demo failed: {err}")
        for name, tail in stack.tails().items():
            printer.say(f"--- last lines of the {name} log ---\n{tail}")
        code = FAILED
    finally:
        code = _stop(stack, printer, code)
    return code


def _stop(stack: Stack, printer: Printer, code: int) -> int:
    """Stop everything, ignoring Ctrl-C and SIGTERM meanwhile; check that nothing is left."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        printer.finish()
        printer.say("stopping the daemon, the simulator and the control plane ...")
        left = stack.close()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if left:
        printer.say("NOT stopped: " + "; ".join(left))
        return code or LEFTOVER
    printer.say(f"all {len(stack.pgids)} processes stopped; none left behind")
    return code


def _run(stack: Stack, printer: Printer, *, timeout: float) -> int:
    _setup(stack, printer)
    ns = stack.place.workload_namespace
    for w in scenario.WORKLOADS:
        stack.api.post(
            f"/apis/apps/v1/namespaces/{ns}/deployments",
            scenario.deployment_manifest(w, namespace=ns),
        )
    applied_wall, applied = dt.datetime.now(dt.UTC), time.monotonic()
    printer.say(f"workload applied ({scenario.total_pods()} pods; no node can take any of them):")
    for w in scenario.WORKLOADS:
        printer.say(f"  {scenario.describe_workload(w)}")
    reading, all_running = _watch(stack, printer, applied=applied, timeout=timeout)
    printer.finish()
    outcome = _outcome(stack, reading, applied_wall=applied_wall, all_running_s=all_running)
    if all_running is None:
        _summarise(printer, render(outcome))
        raise DemoFailed(_not_running(reading, timeout))
    cost = monthly_total(reading, outcome.monthly_cost)
    down, waits = scale_down(
        stack, printer, up=reading, cost_before=cost, applied=applied, timeout=timeout
    )
    _summarise(printer, render(outcome) + render_down(down))
    if waits:
        raise DemoFailed(
            f"the cluster did not settle within {timeout:.0f} s of the shrink: " + "; ".join(waits)
        )
    return OK


def _summarise(printer: Printer, lines: list[str]) -> None:
    printer.say("")
    for line in lines:
        printer.say(line)


def _setup(stack: Stack, printer: Printer) -> None:
    printer.say(
        "starting a local control plane (etcd, kube-apiserver, kube-controller-manager, "
        "kube-scheduler, kwok) ..."
    )
    began = time.monotonic()
    stack.start_plane()
    printer.say(f"control plane up in {time.monotonic() - began:.1f} s; installing the CRDs")
    stack.install_crds()
    stack.create_namespaces()
    sim = stack.start_simulator()
    printer.say(
        f"VPSie simulator at {sim.url}: VKE cluster 'demo'; its bridge turns each new worker "
        "into a kwok Node"
    )
    began = time.monotonic()
    daemon = stack.start_daemon()
    printer.say(f"vpsie-autoscaler daemon ready in {time.monotonic() - began:.1f} s")
    printer.say(f"  metrics: {daemon.metrics_url}")
    base = _nodegroups(stack)
    printer.say("NodeGroups applied (minNodes 0, no node exists yet):")
    for g in scenario.GROUPS:
        stack.api.post(base, scenario.nodegroup_manifest(g, namespace=stack.place.system_namespace))
        printer.say(f"  {scenario.describe_group(g)}")
    printer.say(f"  {scenario.describe_timers()}")
    for g in scenario.GROUPS:  # the daemon has seen the groups before the pods arrive
        stack.api.wait_for(
            f"{base}/{g.name}",
            lambda ng: (
                (ng.get("status") or {}).get("observedGeneration") == ng["metadata"]["generation"]
            ),
            timeout=60.0,
            what=f"the daemon to report on NodeGroup {g.name}",
            check=stack.check_alive,
        )


def _watch(
    stack: Stack, printer: Printer, *, applied: float, timeout: float
) -> tuple[Reading, float | None]:
    """Poll until every pod runs or ``timeout`` passes; the last reading and when it ran."""
    want = scenario.total_pods()
    reading = Reading(elapsed=0.0)
    while True:
        stack.check_alive()
        elapsed = time.monotonic() - applied
        try:
            reading = read(stack.api, stack.place, elapsed)
        except (ApiError, OSError):  # a slow answer on a busy machine: try again
            pass
        else:
            printer.update(reading)
            if reading.done(want):
                return reading, elapsed
        if elapsed > timeout:
            return reading, None
        time.sleep(POLL)


def _outcome(
    stack: Stack, reading: Reading, *, applied_wall: dt.datetime, all_running_s: float | None
) -> Outcome:
    first_create, creates, calls = None, 0, 0
    if stack.sim is not None:
        log = stack.sim.calls()["calls"]
        calls = len(log)
        k4 = [c for c in log if c.get("route_id") == K4 and c.get("status") == 200]
        creates = len(k4)
        if k4:
            at = min(dt.datetime.fromisoformat(c["at"]) for c in k4)
            first_create = (at - applied_wall).total_seconds()
    base = _nodegroups(stack)
    cost = {
        ng["metadata"]["name"]: str(ng["status"]["monthlyCost"])
        for ng in stack.api.get(base)["items"]
        if (ng.get("status") or {}).get("monthlyCost") is not None
    }
    metrics: Metrics | None = None
    if stack.daemon is not None:
        try:
            metrics = scrape(stack.daemon.metrics_url)
        except OSError:
            metrics = None
    return Outcome(
        want=scenario.total_pods(),
        final=reading,
        all_running_s=all_running_s,
        first_create_s=first_create,
        creates=creates,
        vpsie_calls=calls,
        monthly_cost=cost,
        metrics=metrics,
    )


def _nodegroups(stack: Stack) -> str:
    return f"/apis/{GROUP}/{VERSION}/namespaces/{stack.place.system_namespace}/nodegroups"


def _not_running(reading: Reading, timeout: float) -> str:
    waiting = [p.name for p in reading.pods if not p.running]
    why = sorted({e.message for e in reading.events if e.reason == NOT_TRIGGERED})
    text = (
        f"the workload did not run within {timeout:.0f} s: {len(waiting)} of "
        f"{scenario.total_pods()} pods not Running ({', '.join(waiting[:6])}"
        f"{', ...' if len(waiting) > 6 else ''})"
    )
    if why:
        text += "; the autoscaler said: " + " | ".join(why[:3])
    return text
