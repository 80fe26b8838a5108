"""Kubernetes client configuration: kubeconfig or in-cluster, with a deadline."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from kubernetes_asyncio import client, config


class KubeConfigError(Exception):
    """The Kubernetes client could not be configured (missing or unreadable kubeconfig)."""


def kubeconfig_path(kubeconfig: Path | None) -> str:
    """The kubeconfig to read: the given one, else the first of ``$KUBECONFIG``, else kubectl's."""
    if kubeconfig is not None:
        return str(kubeconfig)
    return str(
        Path(os.environ.get("KUBECONFIG", "~/.kube/config").split(os.pathsep)[0]).expanduser()
    )


async def load_configuration(
    *, kubeconfig: Path | None, context: str | None, timeout_s: float = 30.0
) -> client.Configuration:
    """Return a client configuration.

    An explicit ``kubeconfig`` wins; otherwise the in-cluster service account when running
    in a pod; otherwise ``$KUBECONFIG`` or ``~/.kube/config``, as kubectl does.
    """
    cfg = client.Configuration()
    try:
        async with asyncio.timeout(timeout_s):
            if kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
                config.load_incluster_config(client_configuration=cfg)
            else:
                await config.load_kube_config(
                    config_file=kubeconfig_path(kubeconfig),
                    context=context,
                    client_configuration=cfg,
                )
    except (config.ConfigException, OSError, TimeoutError) as err:
        raise KubeConfigError(f"loading Kubernetes configuration: {err}") from err
    return cfg


def api_client(cfg: client.Configuration) -> client.ApiClient:
    """Return an ``ApiClient`` for ``cfg``; the caller closes it (``async with``)."""
    return client.ApiClient(configuration=cfg)
