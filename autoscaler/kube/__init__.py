"""Kubernetes API access: errors, list/watch, stores, informers, work queues, leader election."""
