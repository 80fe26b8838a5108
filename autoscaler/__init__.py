"""vpsie-autoscaler: a Kubernetes node autoscaler for the VPSie cloud."""

__version__ = "0.1.0"
