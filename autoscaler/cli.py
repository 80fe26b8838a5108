"""Command line: ``vpsie-autoscaler run | simulator | version``.

Every setting is also a flag of ``run``; ``run --help`` lists each with its default and
environment variable. Invalid configuration exits with code 2 and one line per problem,
before anything connects.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr, ValidationError

from autoscaler import __version__
from autoscaler.settings import ENV_PREFIX, Settings
from autoscaler.simulator.serving import (
    add_simulator_arguments,
    run_simulator_cli,
    simulator_options,
)

EXIT_CONFIG = 2


def _groups() -> dict[str, type[BaseModel]]:
    groups: dict[str, type[BaseModel]] = {}
    for name, field in Settings.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            groups[name] = ann
    return groups


def _flag(group: str, field: str) -> str:
    return f"--{group}-{field}".replace("_", "-")


def _env(group: str, field: str) -> str:
    return f"{ENV_PREFIX}{group}__{field}".upper()


def _default_text(value: Any) -> str:
    if isinstance(value, SecretStr) or value is None:
        return "unset"
    return str(value)


def _add_settings_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        dest="config_file",
        type=Path,
        default=None,
        help=f"YAML or JSON settings file (env {ENV_PREFIX}CONFIG_FILE); default: none",
    )
    for group, model in _groups().items():
        section = parser.add_argument_group(f"{group} settings", model.__doc__)
        for name, field in model.model_fields.items():
            help_text = (
                f"{field.description} (env {_env(group, name)}; "
                f"default: {_default_text(field.default)})"
            )
            dest = f"{group}.{name}"
            if field.annotation is bool:
                section.add_argument(
                    _flag(group, name),
                    dest=dest,
                    action=argparse.BooleanOptionalAction,
                    default=None,
                    help=help_text,
                )
            else:
                section.add_argument(
                    _flag(group, name), dest=dest, default=None, metavar="VALUE", help=help_text
                )


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the whole command line."""
    parser = argparse.ArgumentParser(
        prog="vpsie-autoscaler",
        description="Kubernetes node autoscaler for the VPSie cloud.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser(
        "run",
        help="run the autoscaler daemon",
        description="Run the autoscaler daemon. Flags override environment variables, "
        "which override the config file.",
    )
    _add_settings_flags(run)
    simulator = sub.add_parser(
        "simulator",
        help="serve the VPSie API simulator (for tests and demos)",
        description="Serve a simulated VPSie API with its quirks and fault-injection knobs; "
        "inspect and steer it under /__sim/.",
    )
    add_simulator_arguments(simulator)
    sub.add_parser("version", help="print the version and exit")
    return parser


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Build ``Settings`` from parsed flags (only those given) plus environment and file."""
    init: dict[str, Any] = {}
    for dest, value in vars(args).items():
        if value is None or dest == "command":
            continue
        if "." in dest:
            group, name = dest.split(".", 1)
            init.setdefault(group, {})[name] = value
        else:
            init[dest] = value
    config = init.get("config_file")
    if config is not None and not Path(config).is_file():
        raise ConfigFileMissing(f"config_file: no such file: {config}")
    return Settings(**init)


class ConfigFileMissing(Exception):
    """The config file named on the command line or in the environment does not exist."""


def format_validation_error(err: ValidationError) -> list[str]:
    """One human-readable line per problem, naming the setting and its variable."""
    lines = []
    for problem in err.errors():
        loc = [str(p) for p in problem["loc"]]
        where = ".".join(loc) or "settings"
        env = f"{ENV_PREFIX}{'__'.join(loc)}".upper() if loc else ""
        got = problem.get("input")
        shown = "" if isinstance(got, dict) or got is None else f" (got {got!r})"
        hint = f" [{_flag(loc[0], loc[1])} / {env}]" if len(loc) == 2 else ""
        lines.append(f"invalid setting {where}: {problem['msg']}{shown}{hint}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``vpsie-autoscaler`` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "version":
        print(f"vpsie-autoscaler {__version__}")
        return 0
    if args.command == "simulator":
        return run_simulator_cli(**simulator_options(args))
    try:
        settings = settings_from_args(args)
    except ValidationError as err:
        for line in format_validation_error(err):
            print(f"vpsie-autoscaler: {line}", file=sys.stderr)
        return EXIT_CONFIG
    except ConfigFileMissing as err:
        print(f"vpsie-autoscaler: invalid setting {err}", file=sys.stderr)
        return EXIT_CONFIG
    from autoscaler.app import run_daemon  # noqa: PLC0415 - import the shell only when running

    return run_daemon(settings)


if __name__ == "__main__":
    sys.exit(main())
