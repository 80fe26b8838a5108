"""Settings: defaults, environment nesting, config file, flags, and clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from autoscaler.cli import build_parser, format_validation_error, main, settings_from_args
from autoscaler.settings import Settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("VPSIE_AUTOSCALER_"):
            monkeypatch.delenv(key)


def parse(*argv: str) -> Settings:
    return settings_from_args(build_parser().parse_args(["run", *argv]))


def test_defaults_match_the_documented_ones() -> None:
    s = Settings()
    assert (s.kube.lease_duration_s, s.kube.renew_deadline_s, s.kube.retry_period_s) == (
        15.0,
        10.0,
        2.0,
    )
    assert (s.server.metrics_port, s.server.probes_port) == (8080, 8081)
    assert s.server.shutdown_timeout_s == 10.0
    assert (s.watch.min_timeout_s, s.watch.max_timeout_s, s.watch.inactivity_timeout_s) == (
        300,
        600,
        70.0,
    )
    assert s.logging.format == "json"


def test_environment_uses_prefix_and_double_underscore(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VPSIE_AUTOSCALER_QUEUE__WORKERS", "7")
    monkeypatch.setenv("VPSIE_AUTOSCALER_LOGGING__LEVEL", "DEBUG")
    s = Settings()
    assert s.queue.workers == 7
    assert s.logging.level == "DEBUG"


def test_flag_beats_environment_beats_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("queue:\n  workers: 3\n  drain_workers: 5\nwatch:\n  page_size: 42\n")
    monkeypatch.setenv("VPSIE_AUTOSCALER_QUEUE__DRAIN_WORKERS", "6")
    monkeypatch.setenv("VPSIE_AUTOSCALER_WATCH__PAGE_SIZE", "43")
    s = parse("--config", str(cfg), "--watch-page-size", "44")
    assert s.queue.workers == 3  # file only
    assert s.queue.drain_workers == 6  # env over file
    assert s.watch.page_size == 44  # flag over env


def test_config_file_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "cfg.json"
    cfg.write_text('{"scaling": {"dry_run": true}}')
    monkeypatch.setenv("VPSIE_AUTOSCALER_CONFIG_FILE", str(cfg))
    assert Settings().scaling.dry_run is True


def test_boolean_flags_have_negative_forms() -> None:
    assert parse("--scaling-dry-run").scaling.dry_run is True
    assert parse("--no-kube-leader-election").kube.leader_election is False


def test_secrets_are_not_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VPSIE_AUTOSCALER_VPSIE__TOKEN", "s3cret-token")
    s = Settings()
    assert s.vpsie.token is not None
    assert s.vpsie.token.get_secret_value() == "s3cret-token"
    assert "s3cret-token" not in repr(s)
    assert "s3cret-token" not in str(s.model_dump())


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        pytest.param(
            ["--queue-workers", "0"],
            {},
            ["invalid setting queue.workers: Input should be greater than or equal to 1"],
            id="below-minimum",
        ),
        pytest.param(
            [],
            {"VPSIE_AUTOSCALER_KUBE__LEASE_DURATION_S": "abc"},
            ["invalid setting kube.lease_duration_s: Input should be a valid number"],
            id="not-a-number-from-env",
        ),
        pytest.param(
            ["--kube-renew-deadline-s", "20"],
            {},
            ["invalid setting kube: Value error, lease_duration_s must be greater than"],
            id="lease-timings-inconsistent",
        ),
        pytest.param(
            ["--logging-level", "LOUD", "--server-probes-port", "70000"],
            {},
            [
                "invalid setting server.probes_port: Input should be less than or equal to 65535",
                "invalid setting logging.level: Input should be 'DEBUG', 'INFO'",
            ],
            id="two-problems-two-lines",
        ),
        pytest.param(
            [],
            {"VPSIE_AUTOSCALER_QUEUE__WORKRS": "3"},
            ["invalid setting queue.workrs: Extra inputs are not permitted"],
            id="misspelt-variable",
        ),
    ],
)
def test_invalid_settings_give_one_line_per_problem(
    argv: list[str], env: dict[str, str], expected: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValidationError) as info:
        parse(*argv)
    lines = format_validation_error(info.value)
    assert len(lines) == len(expected)
    for line, start in zip(sorted(lines), sorted(expected), strict=True):
        assert line.startswith(start), line


def test_invalid_configuration_exits_2_before_connecting(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A kubeconfig that does not exist would fail on connect; exit 2 comes before that.
    code = main(["run", "--queue-workers", "-1", "--kube-kubeconfig", "/nonexistent"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err == [
        "vpsie-autoscaler: invalid setting queue.workers: Input should be greater than or "
        "equal to 1 (got '-1') [--queue-workers / VPSIE_AUTOSCALER_QUEUE__WORKERS]"
    ]


def test_missing_config_file_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["run", "--config", str(tmp_path / "nope.yaml")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_run_help_documents_every_setting_with_default() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "autoscaler", "run", "--help"],
        env={**os.environ, "COLUMNS": "200"},  # long variable names are not broken
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    flat = " ".join(out.split())
    for group, model in Settings.model_fields.items():
        ann = model.annotation
        if group == "config_file" or ann is None:
            continue
        for name in ann.model_fields:
            flag = f"--{group}-{name}".replace("_", "-")
            env = f"VPSIE_AUTOSCALER_{group}__{name}".upper()
            assert flag in flat
            assert env in flat
    assert flat.count("default:") >= sum(
        len(m.annotation.model_fields)
        for g, m in Settings.model_fields.items()
        if g != "config_file" and m.annotation is not None
    )


def test_version_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert capsys.readouterr().out.startswith("vpsie-autoscaler ")


def test_vpsie_settings_map_onto_the_client_config(monkeypatch: pytest.MonkeyPatch) -> None:
    from autoscaler.vpsie.config import VPSieClientConfig

    monkeypatch.setenv("VPSIE_AUTOSCALER_VPSIE__TOKEN", "tkn")
    monkeypatch.setenv("VPSIE_AUTOSCALER_VPSIE__CLUSTER_IDENTIFIER", "c-1")
    monkeypatch.setenv("VPSIE_AUTOSCALER_VPSIE__RESERVED_MEMORY_MI", "512")
    config = VPSieClientConfig.from_settings(Settings().vpsie)
    assert config.mode == "vke"
    assert config.cluster_identifier == "c-1"
    assert config.token is not None
    assert config.token.get_secret_value() == "tkn"
    assert config.reserved.memory_mi == 512
    assert config.api_url == "https://api.vpsie.com"


def test_watch_settings_reach_the_informers() -> None:
    from autoscaler.app import informer_options
    from autoscaler.settings import WatchSettings

    options = informer_options(
        WatchSettings(min_timeout_s=60, max_timeout_s=90, inactivity_timeout_s=30, resync_s=0)
    )
    assert options == {
        "page_size": None,
        "min_watch_timeout": 60,
        "max_watch_timeout": 90,
        "inactivity_timeout": 30,
        "resync_period": None,
    }
    assert informer_options(WatchSettings(resync_s=120))["resync_period"] == 120


def test_a_resync_shorter_than_a_second_is_refused() -> None:
    from pydantic import ValidationError

    from autoscaler.settings import WatchSettings

    with pytest.raises(ValidationError, match="resync_s must be 0"):
        WatchSettings(resync_s=0.5)
