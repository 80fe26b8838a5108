"""``docs/configuration.md``: how settings are given, the secrets, then every setting by group."""

# ruff: noqa: E501 - Markdown table rows and quoted output lines cannot be wrapped

from __future__ import annotations

from autoscaler.docs_gen.markdown import code, generated_notice, table
from autoscaler.docs_gen.settings_fields import (
    CROSS_FIELD_RULES,
    STARTUP_RULES,
    cross_field_rules,
    env_name,
    groups,
    setting_rows,
)

INTRO = """\
# Configuration reference

Every setting of `vpsie-autoscaler run`, with its environment variable, type, default and
allowed values. The NodeGroup resource, which says *what* to scale, is in
[nodegroup.md](nodegroup.md); this page is about the daemon itself.

## How settings are given

Each setting has a key `<group>.<name>` (for example `queue.workers`) and can be given three
ways. A command-line flag beats the environment, which beats the config file, which beats the
default.

| way | example | how the name is formed |
|---|---|---|
| flag of `vpsie-autoscaler run` | `--queue-workers 4` | `--<group>-<name>`, with `_` written `-`; booleans as `--kube-leader-election` / `--no-kube-leader-election` |
| environment variable | `VPSIE_AUTOSCALER_QUEUE__WORKERS=4` | `VPSIE_AUTOSCALER_`, the group, `__`, the name, in upper case |
| config file | `queue: {workers: 4}` | the group as a mapping of its names, in YAML or JSON |

The config file is named by `--config FILE` or `VPSIE_AUTOSCALER_CONFIG_FILE`; it cannot name
itself, and a missing file is an error. Booleans in the environment are `true` or `false`
(`1`/`0`, `yes`/`no` and `on`/`off` work too). A key that is not listed below, in the file or
as a `VPSIE_AUTOSCALER_<GROUP>__<NAME>` variable, is an error rather than ignored.

`vpsie-autoscaler run --help` lists the same settings with their flags. Invalid configuration
stops the daemon before it connects anywhere, with exit code 2 and one line per problem:

```text
vpsie-autoscaler: invalid setting queue.workers: Input should be greater than or equal to 1 (got '0') [--queue-workers / VPSIE_AUTOSCALER_QUEUE__WORKERS]
```

A config file with a few settings changed:

```yaml
kube:
  namespace: vpsie-system
vpsie:
  mode: vke
  cluster_identifier: 6f1c2b7e-3d4a-4e5f-8a9b-0c1d2e3f4a5b
scaling:
  expanders: priority,least-waste,price
  max_nodes_total: 50
logging:
  level: INFO
```
"""

SECRETS = """\
## Secrets

The VPSie credentials are settings of the `vpsie` group, held as secret strings:

{table}
Give either `token` or the client id and secret, not both. `vm` mode needs the account
password as well: VPSie asks for it whenever a VM is deleted, so without it the daemon refuses
to start in `vm` mode.

In a cluster, fill the variables from a Kubernetes Secret rather than writing them into the
Deployment or a config map:

```yaml
env:
  - name: VPSIE_AUTOSCALER_VPSIE__TOKEN
    valueFrom:
      secretKeyRef: {{name: vpsie-credentials, key: token}}
```

A config file mounted from a Secret works too. Avoid the flags (`--vpsie-token` ...) for
secrets: a process's arguments are visible to anyone who can list processes on the node.

The daemon never logs or prints a secret: the values are kept as pydantic `SecretStr`, which
prints as `**********`; `run --help` shows their defaults as `unset`; the VPSie client logs
a call's method, path template, status, duration, request id and VPSie's message, never its
headers or body, and its error messages hold no credential. The cloud-init user data of `vm`
NodeGroups comes from a Secret the NodeGroup names (`spec.provider.userDataSecretRef`) and is
kept as a secret string too.
"""

OUTSIDE = """\
## Running outside a cluster

`make run` (or `vpsie-autoscaler run`) on your machine talks to the cluster of your
kubeconfig: `kube.kubeconfig` if set; otherwise, inside a pod, the pod's ServiceAccount;
otherwise `$KUBECONFIG` or `~/.kube/config`, as kubectl does (`kube.context` picks a context).
The cluster needs the CRDs (`kubectl apply -f charts/vpsie-autoscaler/crds/`) and the
namespace of `kube.namespace`. For example:

```sh
export VPSIE_AUTOSCALER_VPSIE__TOKEN=...                 # a VPSie API token
export VPSIE_AUTOSCALER_VPSIE__CLUSTER_IDENTIFIER=...    # your VKE cluster's identifier
make run
```

No VPSie account? `vpsie-autoscaler simulator` serves a simulated VPSie API on
127.0.0.1:8480 ([simulator.md](simulator.md)); point the daemon at it with
`VPSIE_AUTOSCALER_VPSIE__URL=http://127.0.0.1:8480`, `VPSIE_AUTOSCALER_VPSIE__ALLOW_HTTP=true`,
`VPSIE_AUTOSCALER_VPSIE__TOKEN=sim-token` and
`VPSIE_AUTOSCALER_VPSIE__CLUSTER_IDENTIFIER=c1000000-0000-4000-8000-000000000007`.

## Endpoints, logs and shutdown

| port (setting) | path | meaning |
|---|---|---|
| 8080 (`server.metrics_port`) | `/metrics` | Prometheus metrics: `vpsie_autoscaler_*`, controller-runtime's `workqueue_*` and `controller_runtime_*`, client-go's `leader_election_master_status` |
| 8081 (`server.probes_port`) | `/healthz` | liveness: the event loop answers and no essential task has died |
| 8081 (`server.probes_port`) | `/readyz` | readiness: every informer has synced and no shutdown is under way; otherwise 503 with one line per reason |

Logs are one JSON object per line on stderr (`logging.format: text` for people). On SIGTERM
or SIGINT the daemon stops taking work, cancels its leader-only tasks, releases its Lease so
another replica takes over at once, and exits 0 within `server.shutdown_timeout_s`; a second
signal exits at once.
"""


def _bullets(title: str, items: tuple[str, ...]) -> str:
    return f"\n{title}\n\n" + "".join(f"- {item}\n" for item in items) if items else ""


def secrets_section() -> str:
    """The secrets section, with the variables of the four secret settings."""
    rows = [
        (code("vpsie.token"), code(env_name("vpsie", "token")), "a VPSie API token"),
        (
            f"{code('vpsie.client_id')}, {code('vpsie.client_secret')}",
            f"{code(env_name('vpsie', 'client_id'))}, {code(env_name('vpsie', 'client_secret'))}",
            "OAuth client credentials, exchanged for a token and refreshed before it expires",
        ),
        (
            code("vpsie.account_password"),
            code(env_name("vpsie", "account_password")),
            "the VPSie account password; `vm` mode only",
        ),
    ]
    return SECRETS.format(table=table(("setting", "environment variable", "what"), rows))


def configuration_page() -> str:
    """The whole of ``docs/configuration.md``."""
    sections = [
        generated_notice("autoscaler/settings.py"),
        INTRO,
        secrets_section(),
        "## Settings\n\nThe file key of each setting is `<group>.<name>`; the groups:\n",
    ]
    header = ("name", "environment variable", "type", "default", "allowed", "description")
    for group, model in groups():
        rows = [
            (code(r.name), code(r.env), r.type, r.default, r.allowed, r.description)
            for r in setting_rows(group, model)
        ]
        doc = (model.__doc__ or "").strip()
        text = f"### {code(group)}\n\n{doc}\n\n{table(header, rows)}"
        text += _bullets("Also checked:", cross_field_rules(model))
        if group == "vpsie":
            text += _bullets(
                "Checked when `run` starts, before it connects anywhere (exit code 2):",
                CROSS_FIELD_RULES[STARTUP_RULES],
            )
        sections.append(text)
    sections.append(OUTSIDE)
    return "\n".join(sections)
