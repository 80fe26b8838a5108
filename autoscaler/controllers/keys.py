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
