"""``make demo``: the autoscaler at work on a laptop, without a VPSie account.

A private control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok), the
VPSie API simulator whose bridge turns each new worker into a kwok Node, and the real daemon.
Three NodeGroups and a workload that fits nowhere are applied; the terminal shows the
scale-up as it happens. The workload then shrinks and the terminal shows the scale-down
(empty nodes deleted, underutilized ones drained) until the cluster settles; a summary of
both follows. Every process is stopped before it exits.
"""
