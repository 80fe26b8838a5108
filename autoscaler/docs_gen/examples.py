"""The example manifests of ``docs/nodegroup.md``; tests parse each NodeGroup in them."""

# ruff: noqa: E501 - a join command is one line of the user data

from __future__ import annotations

VKE_EXAMPLE = """\
apiVersion: autoscaler.vpsie.com/v1alpha1
kind: NodeGroup
metadata:
  name: general
  namespace: vpsie-system          # the autoscaler's namespace (kube.namespace)
spec:
  minNodes: 1
  maxNodes: 10
  provider:
    mode: vke
    clusterIdentifier: 6f1c2b7e-3d4a-4e5f-8a9b-0c1d2e3f4a5b   # = vpsie.cluster_identifier
    nodeGroupName: general         # the VPSie node group of that cluster (or nodeGroupId)
  template:
    labels:
      workload: general
---
apiVersion: autoscaler.vpsie.com/v1alpha1
kind: NodeGroup
metadata:
  name: batch
  namespace: vpsie-system
spec:
  minNodes: 0
  maxNodes: 4
  priority: 10                     # preferred over lower priorities when both fit a pod
  provider:
    mode: vke
    clusterIdentifier: 6f1c2b7e-3d4a-4e5f-8a9b-0c1d2e3f4a5b
    nodeGroupId: 412
  template:
    labels:
      dedicated: batch
    taints:
      - {key: dedicated, value: batch, effect: NoSchedule}
    reserved: {cpu: 200m, memory: 512Mi}
  scaleUp:
    enabled: true
  scaleDown:
    utilizationThreshold: 0.6
    unneededTime: 5m
    delayAfterAdd: 10m
    allowedWindows:                # remove nodes only at night, on weekdays
      - days: [Mon, Tue, Wed, Thu, Fri]
        start: "22:00"             # quoted: some YAML parsers read 22:00 as a number
        end: "06:00"
        timeZone: Europe/Berlin
"""

VM_EXAMPLE = """\
apiVersion: v1
kind: Secret
metadata:
  name: worker-join
  namespace: vpsie-system          # the NodeGroup's namespace
stringData:
  user-data: |
    #cloud-config
    # The OS image must bring kubeadm and a container runtime (or install them here).
    runcmd:
      - kubeadm join 10.0.0.10:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:1f0c0c6b2b1d6f1f3e0a5c1e9b7d3a2f4c8e6d0b1a2c3d4e5f60718293a4b5c6
---
apiVersion: autoscaler.vpsie.com/v1alpha1
kind: NodeGroup
metadata:
  name: workers
  namespace: vpsie-system
spec:
  minNodes: 0
  maxNodes: 5
  provider:
    mode: vm
    datacenterIdentifier: 55f06b85-c9ee-11ed-9b33-0050569c68dc
    planIdentifier: 7b0d1e2f-3a4b-4c5d-8e9f-a0b1c2d3e4f5
    osIdentifier: 9c8b7a6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d
    projectId: 1234
    hostnamePrefix: k8s            # VMs are named k8s-workers-<8 random characters>
    userDataSecretRef: {name: worker-join, key: user-data}
    sshKeyIdentifier: 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d   # optional
  template:
    labels:
      workload: general
"""
