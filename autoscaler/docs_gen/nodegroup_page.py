"""``docs/nodegroup.md``: the NodeGroup and VPSieNode resources, with examples."""

# ruff: noqa: E501 - Markdown table rows cannot be wrapped

from __future__ import annotations

from autoscaler.core.resources import NodeGroup, VPSieNode
from autoscaler.core.resources.meta import KindInfo, class_rules
from autoscaler.docs_gen.examples import VKE_EXAMPLE, VM_EXAMPLE
from autoscaler.docs_gen.markdown import code, generated_notice, table
from autoscaler.docs_gen.resource_fields import reference

INTRO = """\
# NodeGroup and VPSieNode reference

A **NodeGroup** (short name `ng`) is a set of identical VPSie nodes that the autoscaler keeps
between `minNodes` and `maxNodes`: it adds nodes for pods that cannot be scheduled
([scale-up.md](scale-up.md)) and removes nodes that are not needed
([scale-down.md](scale-down.md)). For every node it creates a **VPSieNode** (short name `vn`),
which follows one VPSie worker or VM from the intent to create it until it is gone. Both are
namespaced resources of `autoscaler.vpsie.com/v1alpha1`. The CRDs in
`charts/vpsie-autoscaler/crds/` are generated from the same models as this page, so
`kubectl explain nodegroup.spec.scaleDown` prints the same descriptions, and the API server
rejects an invalid NodeGroup with the messages in the *checks* columns below.

Two things decide whether the autoscaler serves a NodeGroup at all:

- **Namespace.** It reads NodeGroups and writes VPSieNodes only in its own namespace, the
  setting `kube.namespace` (default `vpsie-system`); a NodeGroup elsewhere is ignored.
- **Mode and cluster.** `spec.provider.mode` must be the daemon's `vpsie.mode`, and in `vke`
  mode `spec.provider.clusterIdentifier` must be the daemon's `vpsie.cluster_identifier`.
  Otherwise the group gets a Warning Event `InvalidSpec` and the condition `Ready=False` with
  reason `InvalidSpec`, and nothing is created for it ([configuration.md](configuration.md)).
"""

EXAMPLES = """\
## Examples

### `vke`: a VPSie managed Kubernetes cluster

Each NodeGroup scales one node group of the VKE cluster the daemon is configured for, named by
`nodeGroupName` or `nodeGroupId`. The VPSie node group fixes the size and price of its workers;
the autoscaler reads them from VPSie to plan. The second group is tainted, so only pods that
tolerate the taint go there, and removes nodes only on weekday nights.

```yaml
{vke}```

### `vm`: a self-managed cluster (kubeadm, k3s) on VPSie VMs

The daemon runs with `vpsie.mode: vm` and the account password
([configuration.md](configuration.md#secrets)). Each new VM boots the cloud-init user data
from the Secret, which must join it to the cluster. The autoscaler then finds the Node by its
name (the VM's hostname, in lower case, which is what kubeadm and k3s use by default) or by a
providerID naming the VM. A kubeadm join token expires
after 24 hours by default; `kubeadm token create --ttl 0 --print-join-command` prints a join
command whose token does not expire.

```yaml
{vm}```
"""

BEHAVIOUR = """\
## What the autoscaler does with a NodeGroup

- **Bounds.** It creates VPSieNodes until the group has `minNodes`, even without pending pods
  (unless the group is backing off after failures), and never lets it go above `maxNodes`,
  counting nodes still on their way. A group above `maxNodes` (after you lowered it) loses its
  nodes that run no pods; a node that runs pods is removed only by scale-down, by its usual
  rules.
- **Nodes.** Every Node of the group gets the template's labels and taints and three labels of
  its own: `autoscaler.vpsie.com/managed=true`, `autoscaler.vpsie.com/nodegroup=<group>` and
  `autoscaler.vpsie.com/vpsienode=<vpsienode>`. Nodes without the nodegroup label are never
  removed by the autoscaler, though pods may be moved onto them.
- **Status.** The autoscaler alone writes `status`; the conditions are listed
  [below](#nodegroup-conditions). Why pending pods did not go to the group and why its nodes
  are kept are in `status.pendingSummary` and `status.keptSummary`
  ([troubleshooting.md](troubleshooting.md)).
- **Deletion.** Deleting a NodeGroup deletes its VPSieNodes: each Node is drained, then its
  VPSie worker is deleted, and the NodeGroup goes once every worker is gone (finalizer
  `autoscaler.vpsie.com/nodegroup`).

```sh
kubectl -n vpsie-system get ng             # Min, Max, Current, Ready, Upcoming, Age
kubectl -n vpsie-system get ng -o wide     # also Mode
kubectl -n vpsie-system get vn --field-selector spec.nodeGroup=general
kubectl -n vpsie-system get vpsie          # both kinds
kubectl explain nodegroup.spec.provider
```

The field selector on VPSieNodes needs Kubernetes 1.31 or later (CRD selectable fields).
"""

CONDITIONS = """\
### NodeGroup conditions

| type | `True` means | reasons |
|---|---|---|
| `Ready` | at least `minNodes` nodes are Ready | `MinimumReady`, `BelowMinimum`; `InvalidSpec` when the group cannot be served (the message says why) |
| `Scaling` | nodes are on their way or leaving | `ScalingUp`, `ScalingDown`, `Stable` |
| `AtMinCapacity` | the target size is at `minNodes` | `AtMinNodes`, `AboveMinNodes` |
| `AtMaxCapacity` | the target size is at `maxNodes`: no scale-up for this group | `AtMaxNodes`, `BelowMaxNodes` |
| `Backoff` | provisioning failed recently: no new nodes before the time in the message | `ProvisioningBackoff`, `NoBackoff` |
"""

VPSIENODE = """\
## VPSieNode

The autoscaler creates and deletes VPSieNodes; do not create them yourself. A VPSieNode is
written *before* the VPSie create call, so a crash at any moment leaves a record of what may
exist, and it holds the finalizer `autoscaler.vpsie.com/worker` until its worker is gone:
deleting a VPSieNode drains its Node and deletes its VPSie worker. Its annotation
`autoscaler.vpsie.com/decision` names the scale-up decision that asked for it.

| phase | meaning |
|---|---|
| `Pending` | written; no VPSie call made yet |
| `Provisioning` | the one create call was made; waiting until VPSie lists the worker (`lifecycle.provisioning_timeout_s`, 15m) |
| `Joining` | VPSie lists the worker; waiting until its Node registers and turns Ready (`lifecycle.joining_timeout_s`, 15m) |
| `Ready` | the Node is Ready and carries the group's labels and taints |
| `Draining` | scale-down is evicting the Node's pods |
| `Deleting` | the VPSieNode is being deleted: the Node is drained, then the worker and the Node are deleted |
| `Failed` | the create was refused or timed out; the worker, if any, is deleted, and the group backs off. The newest `lifecycle.failed_kept` (4) Failed VPSieNodes of a group are kept as a record |

Its conditions: `Launched` (`Unknown` while the create call is under way, `True` once VPSie
accepted it or the worker was found), `Registered` (the Node registered) and `Ready` (the Node
is Ready; `False` with the failure's reason when the VPSieNode failed). The schema also
declares `Drained`, which the autoscaler does not set yet.
"""


def _columns(info: KindInfo) -> str:
    rows = [
        (code(c.name), code(c.json_path), c.description + (" (`-o wide`)" if c.priority else ""))
        for c in info.columns
    ]
    return table(("column", "from", "meaning"), rows)


def nodegroup_page() -> str:
    """The whole of ``docs/nodegroup.md``."""
    ng_fields, links = reference(NodeGroup)
    vn_fields, _ = reference(VPSieNode, links=links)
    names = "".join(f"- {r.message}\n" for r in class_rules(NodeGroup))
    return "\n".join(
        [
            generated_notice("autoscaler/core/resources"),
            INTRO,
            EXAMPLES.format(vke=VKE_EXAMPLE, vm=VM_EXAMPLE),
            BEHAVIOUR,
            "## NodeGroup fields\n\n`kubectl get ng` shows:\n\n" + _columns(NodeGroup.KIND),
            f"Object names are checked too:\n\n{names}",
            ng_fields,
            CONDITIONS,
            VPSIENODE,
            "### VPSieNode columns\n\n`kubectl get vn` shows:\n\n" + _columns(VPSieNode.KIND),
            vn_fields,
        ]
    )
