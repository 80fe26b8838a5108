"""Names the lifecycle controllers write: finalizer, labels, annotations, Event reasons."""

from __future__ import annotations

import enum

from autoscaler.core.records import NODE_GROUP_LABEL

DOMAIN = "autoscaler.vpsie.com"
FINALIZER = f"{DOMAIN}/worker"
MANAGED_LABEL = f"{DOMAIN}/managed"
NODEGROUP_LABEL = NODE_GROUP_LABEL
VPSIENODE_LABEL = f"{DOMAIN}/vpsienode"
OUR_TAINT_PREFIX = f"{DOMAIN}/"

CREATE_ATTEMPT = f"{DOMAIN}/create-attempt"
"""Annotation: the attempt id of the one create call (written before the call)."""
KNOWN_WORKERS = f"{DOMAIN}/known-workers"
"""Annotation: the group's workers (identifiers and hostnames) just before the create call."""
ADOPTED = f"{DOMAIN}/adopted"
"""Annotation: this VPSieNode adopted an existing worker (value: its identifier or hostname);
it never makes a create call."""
ADOPTED_HOSTNAME = f"{DOMAIN}/adopted-hostname"
"""Annotation: the hostname of the adopted worker, when known."""
DECISION = f"{DOMAIN}/decision"
"""Annotation: the id of the scale-up decision that asked for this VPSieNode."""

DELETION_CANDIDATE_TAINT = f"{DOMAIN}/deletion-candidate"
"""Taint (``NoSchedule``) on a Node being drained for deletion. Set only after its VPSieNode
is ``Draining``: the garbage collector removes it from Nodes not being removed."""
DRAIN_STATUS = f"{DOMAIN}/drain-status"
"""Annotation: ``running``, then ``complete``, ``failed``, ``timeout`` or ``interrupted``."""
DRAIN_STARTED = f"{DOMAIN}/drain-started-time"
"""Annotation: when the drain tainted and cordoned the Node (RFC 3339, UTC)."""
DRAIN_FINISHED = f"{DOMAIN}/drain-finished-time"
"""Annotation: when the drain ended, or its cleanup restored the Node (RFC 3339, UTC)."""
DRAIN_CORDONED = f"{DOMAIN}/drain-cordoned"
"""Annotation ``"true"`` while the drain holds a cordon it set itself; a Node its owner had
cordoned already stays cordoned after a failed drain."""

NODEGROUPS = "nodegroups"
VPSIENODES = "vpsienodes"


class Reason(enum.StrEnum):
    """Event and condition reasons (CamelCase), one per transition or failure."""

    PROVISIONING_STARTED = "ProvisioningStarted"
    WORKER_CREATED = "WorkerCreated"
    WORKER_IDENTIFIED = "WorkerIdentified"
    WORKER_RECOVERED = "WorkerRecovered"
    NODE_REGISTERED = "NodeRegistered"
    NODE_JOINED = "NodeJoined"
    PROVISIONING_FAILED = "ProvisioningFailed"
    PROVISIONING_TIMED_OUT = "ProvisioningTimedOut"
    JOINING_TIMED_OUT = "JoiningTimedOut"
    QUOTA_EXCEEDED = "QuotaExceeded"
    UNKNOWN_OUTCOME = "UnknownOutcome"
    CREATE_NOT_ACCEPTED = "CreateNotAccepted"
    CREATE_REQUESTED = "CreateRequested"
    CREATE_SENT = "CreateSent"
    """Written right before the create call goes out: from then on a worker may exist."""
    CREATE_NOT_SENT = "CreateNotSent"
    """The process stopped after the intent but before the create call: nothing was made."""
    DELETING_WORKER = "DeletingWorker"
    WORKER_DELETE_REQUESTED = "WorkerDeleteRequested"
    WORKER_DELETED = "WorkerDeleted"
    WORKER_DELETE_FAILED = "WorkerDeleteFailed"
    WORKER_UNACCOUNTED = "WorkerUnaccounted"
    NODE_DELETED = "NodeDeleted"
    ORPHAN_WORKER_FOUND = "OrphanWorkerFound"
    WORKER_ADOPTED = "WorkerAdopted"
    TAINT_REMOVED = "TaintRemoved"
    DUPLICATE_OWNER = "DuplicateOwner"
    SCALED_UP = "ScaledUpToMinimum"
    SCALED_DOWN = "RemovedAboveMaximum"
    BACKOFF = "ProvisioningBackoff"
    INVALID_SPEC = "InvalidSpec"
    GROUP_NOT_FOUND = "NodeGroupNotFound"
    TRIGGERED_SCALE_UP = "TriggeredScaleUp"
    NOT_TRIGGER_SCALE_UP = "NotTriggerScaleUp"
    SCALED_UP_GROUP = "ScaledUpGroup"
    FAILED_TO_SCALE_UP_GROUP = "FailedToScaleUpGroup"
    SCALE_DOWN = "ScaleDown"
    """A Node was drained for scale-down (Cluster Autoscaler's reason)."""
    SCALE_DOWN_FAILED = "ScaleDownFailed"
    """A drain failed, timed out or was interrupted; the Node was restored."""
    SCALE_DOWN_BLOCKED = "ScaleDownBlocked"
    """A managed Node is kept by scale-down; the message names the reason."""
    SCALED_DOWN_GROUP = "ScaledDownGroup"
    """A NodeGroup lost a node to scale-down."""
