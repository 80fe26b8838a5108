"""The container image: Dockerfile, .dockerignore and requirements/image.lock.

No Docker engine runs on these machines, so the image is never built here. Instead hadolint
lints the Dockerfile, a small parser checks what the Dockerfile says (sources, stages, user,
entry point), the lock is compared with pyproject.toml and with the environment the tests run
in, and the builder stage's own steps are replayed in a temporary directory to run the entry
point of the venv they make.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

from autoscaler import __version__
from autoscaler.settings import ServerSettings

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
LOCK = ROOT / "requirements" / "image.lock"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
BUILD_TOOLS = re.compile(
    r"\b(gcc|g\+\+|cc|clang|make|build-essential|[\w.+-]+-dev|python3?-dev|cargo|rustc)\b"
)


# --- Dockerfile -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    """One instruction, continuation lines joined."""

    line: int
    keyword: str
    args: str


@dataclass
class Stage:
    """A ``FROM`` and the instructions up to the next one."""

    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


def parse_dockerfile(text: str) -> list[Stage]:
    """Split a Dockerfile into stages (no parser directives, heredocs or ARG in FROM)."""
    stages: list[Stage] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # comments and blank lines may sit inside a continuation, too
        if not pending:
            start = number
        pending.append(line.removesuffix("\\").strip())
        if line.endswith("\\"):
            continue
        keyword, _, args = " ".join(pending).partition(" ")
        pending = []
        instruction = Instruction(start, keyword.upper(), args.strip())
        if instruction.keyword == "FROM":
            base, _, name = re.sub(r"(?i)\s+as\s+", " AS ", instruction.args).partition(" AS ")
            stages.append(Stage(base.strip(), name.strip() or None))
        else:
            assert stages, f"line {start}: {keyword} before the first FROM"
            stages[-1].instructions.append(instruction)
    return stages


@dataclass(frozen=True)
class Copy:
    """A ``COPY``: its ``--from`` stage, if any, the sources and the destination."""

    from_stage: str | None
    sources: list[str]
    dest: str


def parse_copy(instruction: Instruction) -> Copy:
    words = shlex.split(instruction.args)
    flags = dict(w[2:].partition("=")[::2] for w in words if w.startswith("--"))
    paths = [w for w in words if not w.startswith("--")]
    assert len(paths) >= 2, f"line {instruction.line}: COPY needs a source and a destination"
    return Copy(flags.get("from"), paths[:-1], paths[-1])


def exec_form(instruction: Instruction) -> list[str]:
    value = json.loads(instruction.args)
    assert isinstance(value, list), f"line {instruction.line}: not the exec (JSON) form"
    return [str(v) for v in value]


STAGES = parse_dockerfile(DOCKERFILE.read_text())
BUILDER, FINAL = STAGES[0], STAGES[-1]


# --- .dockerignore (moby/patternmatcher semantics: last match wins, parents count) ----------


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out.append(pattern[i : end + 1].replace("[!", "[^"))
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


def _ignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keep = line.startswith("!")
        cleaned = os.path.normpath(line.removeprefix("!").strip()).lstrip("/")
        rules.append((keep, _pattern_regex(cleaned)))
    return rules


IGNORE_RULES = _ignore_rules()


def ignored(relative: str) -> bool:
    """Whether Docker leaves this path (relative to the context) out of the build context."""
    parts = relative.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    excluded = False
    for keep, regex in IGNORE_RULES:
        if any(regex.fullmatch(p) for p in prefixes):
            excluded = not keep
    return excluded


def context_files(source: str) -> list[Path]:
    """The files under ``source`` that reach the build context."""
    path = ROOT / source
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return [f for f in files if not ignored(f.relative_to(ROOT).as_posix())]


# --- requirements/image.lock ----------------------------------------------------------------


@dataclass(frozen=True)
class Pin:
    """One lock entry."""

    name: str
    requirement: Requirement
    hashes: tuple[str, ...]

    @property
    def version(self) -> str:
        (spec,) = self.requirement.specifier
        return spec.version


def parse_lock(text: str) -> dict[str, Pin]:
    pins: dict[str, Pin] = {}
    for line in re.sub(r"\\\n", " ", text).splitlines():
        entry = line.split(" #", 1)[0].strip()
        if not entry or entry.startswith("#"):
            continue
        requirement, *options = entry.split(" --")
        req = Requirement(requirement)
        hashes = tuple(o.removeprefix("hash=") for o in options if o.startswith("hash="))
        pins[canonicalize_name(req.name)] = Pin(canonicalize_name(req.name), req, hashes)
    return pins


def runtime_requirements() -> list[Requirement]:
    return [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]


def runtime_closure() -> set[str]:
    """The names of the runtime dependencies and theirs, from the installed metadata."""
    seen: set[str] = set()
    todo = [(r, r.extras) for r in runtime_requirements()]
    while todo:
        req, extras = todo.pop()
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        seen.add(name)
        for raw in importlib.metadata.requires(name) or []:
            sub = Requirement(raw)
            envs = [{"extra": e} for e in ("", *extras)]
            if sub.marker is None or any(sub.marker.evaluate(env) for env in envs):
                todo.append((sub, sub.extras))
    return seen


PINS = parse_lock(LOCK.read_text())


# --- the Dockerfile ------------------------------------------------------------------------


def test_hadolint_finds_nothing() -> None:
    hadolint = Path(sys.executable).with_name("hadolint")
    result = subprocess.run(
        [str(hadolint), "--no-color", "--failure-threshold", "info", "Dockerfile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_builder_and_final_stage_share_a_slim_python_base() -> None:
    assert len(STAGES) == 2
    assert BUILDER.name == "builder"
    assert re.fullmatch(r"python:3\.11-slim-[a-z]+", FINAL.base), FINAL.base
    assert BUILDER.base == FINAL.base, "the copied venv needs the same interpreter path"


@pytest.mark.parametrize(
    "source",
    [pytest.param(src, id=src) for i in BUILDER.all("COPY") for src in parse_copy(i).sources],
)
def test_copied_source_is_in_the_build_context(source: str) -> None:
    assert (ROOT / source).exists(), f"{source} is not in the repository"
    assert context_files(source), f"{source} is left out by .dockerignore"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param("autoscaler/cli.py", False, id="package-module"),
        pytest.param("autoscaler/core/__pycache__/plan.cpython-311.pyc", True, id="bytecode"),
        pytest.param("requirements/image.lock", False, id="lock"),
        pytest.param("tests/test_image.py", True, id="tests"),
        pytest.param(".venv/bin/python", True, id="dev-venv"),
        pytest.param(".git/HEAD", True, id="git"),
    ],
)
def test_dockerignore_sends_only_what_the_image_needs(path: str, expected: bool) -> None:
    assert ignored(path) is expected


def test_final_stage_copies_only_the_builders_venv() -> None:
    copies = [parse_copy(i) for i in FINAL.all("COPY") + FINAL.all("ADD")]
    venv = _env_values(BUILDER)["VIRTUAL_ENV"]
    assert copies == [Copy("builder", [venv], venv)]


def test_no_stage_installs_build_tools() -> None:
    for stage in STAGES:  # the builder needs none either: every pin is installed as a wheel
        for run in stage.all("RUN"):
            assert not BUILD_TOOLS.search(run.args), f"line {run.line}: {run.args}"
    assert "--only-binary=:all:" in " ".join(r.args for r in BUILDER.all("RUN"))


def test_final_stage_runs_as_a_numeric_non_root_user() -> None:
    users = FINAL.all("USER")
    assert users, "the final stage sets no USER"
    user, _, group = users[-1].args.partition(":")
    assert user.isdigit(), user
    assert int(user) != 0
    assert group.isdigit(), group
    assert int(group) != 0


def test_entrypoint_is_the_console_script_and_cmd_runs_the_daemon() -> None:
    (entrypoint,) = FINAL.all("ENTRYPOINT")
    (cmd,) = FINAL.all("CMD")
    assert exec_form(entrypoint) == ["vpsie-autoscaler"]
    assert PYPROJECT["project"]["scripts"]["vpsie-autoscaler"] == "autoscaler.cli:main"
    assert exec_form(cmd) == ["run"]


def test_exposed_ports_are_the_default_server_ports() -> None:
    (expose,) = FINAL.all("EXPOSE")
    defaults = ServerSettings.model_fields
    expected = [defaults["metrics_port"].default, defaults["probes_port"].default]
    assert [int(p) for p in expose.args.split()] == expected


def test_final_stage_turns_off_bytecode_writes() -> None:
    assert _env_values(FINAL).get("PYTHONDONTWRITEBYTECODE") == "1"


# --- the lock -------------------------------------------------------------------------------


def test_lock_pins_every_runtime_dependency_within_pyproject_ranges() -> None:
    for req in runtime_requirements():
        pin = PINS.get(canonicalize_name(req.name))
        assert pin is not None, f"{req.name} is not in {LOCK.name}; run `make lock`"
        assert req.specifier.contains(pin.version), f"{pin.requirement} outside {req}"


@pytest.mark.parametrize("pin", PINS.values(), ids=lambda p: p.name)
def test_lock_entry_is_an_exact_hashed_pin(pin: Pin) -> None:
    assert [s.operator for s in pin.requirement.specifier] == ["=="]
    assert pin.hashes, f"{pin.name} has no --hash"
    assert all(h.startswith("sha256:") for h in pin.hashes)


def test_lock_holds_the_runtime_closure_and_nothing_else() -> None:
    assert set(PINS) == runtime_closure(), "run `make lock`"


def test_lock_versions_are_the_ones_the_tests_run() -> None:
    installed = {name: importlib.metadata.version(name) for name in PINS}
    locked = {name: pin.version for name, pin in PINS.items()}
    assert locked == installed, "the image would run other code than the tests; run `make lock`"


# --- the builder replayed -------------------------------------------------------------------


def _env_values(stage: Stage) -> dict[str, str]:
    values: dict[str, str] = {}
    for env in stage.all("ENV"):
        for word in shlex.split(env.args):
            key, eq, value = word.partition("=")
            assert eq, f"line {env.line}: use ENV key=value"
            values[key] = value
    return values


def _wheel_cache() -> Path:
    """Wheels for the lock and the build backend, downloaded once per lock and then reused."""
    requires = PYPROJECT["build-system"]["requires"]
    digest = hashlib.sha256(LOCK.read_bytes() + json.dumps(requires).encode()).hexdigest()
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    wheels = cache / "vpsie-autoscaler" / "image-wheels"
    stamp = wheels / f"complete-{digest[:16]}"
    if stamp.exists():
        return wheels
    pip = [sys.executable, "-m", "pip", "download", "--quiet", "--dest", str(wheels)]
    binary = "--only-binary=:all:"
    subprocess.run([*pip, binary, "--no-deps", "--require-hashes", "-r", str(LOCK)], check=True)
    subprocess.run([*pip, binary, *requires], check=True)
    have = {canonicalize_name(parse_wheel_filename(w.name)[0]) for w in wheels.glob("*.whl")}
    assert set(PINS) <= have
    stamp.touch()
    return wheels


class Replay:
    """Runs a stage's ENV, WORKDIR, COPY and RUN in a directory that stands for ``/``.

    Literal absolute paths (in ENV values, WORKDIR and COPY destinations) are container
    paths and move under ``root``; RUN lines run as Docker runs them, with ``/bin/sh -c``.
    pip is pointed at a local wheel cache and no index, so a replay needs no network.
    """

    def __init__(self, root: Path, *, path: str, pip_env: dict[str, str]) -> None:
        self.root = root
        self.env = {"PATH": path, "HOME": str(root), "LANG": "C.UTF-8", **pip_env}
        self.cwd = root

    def container_path(self, path: str) -> Path:
        return self.root / path.lstrip("/") if path.startswith("/") else self.cwd / path

    def expand(self, value: str) -> str:
        if value.startswith("/"):
            value = str(self.root) + value
        return re.sub(r"\$\{?(\w+)\}?", lambda m: self.env.get(m.group(1), ""), value)

    def stage(self, stage: Stage) -> None:
        for instruction in stage.instructions:
            match instruction.keyword:
                case "ENV":
                    for key, value in _env_values(Stage("", None, [instruction])).items():
                        self.env[key] = self.expand(value)
                case "WORKDIR":
                    self.cwd = self.container_path(instruction.args)
                    self.cwd.mkdir(parents=True, exist_ok=True)
                case "COPY":
                    self.copy(parse_copy(instruction))
                case "RUN":
                    result = subprocess.run(
                        ["/bin/sh", "-c", instruction.args],
                        cwd=self.cwd,
                        env=self.env,
                        capture_output=True,
                        text=True,
                        check=False,
                    )
                    assert result.returncode == 0, (
                        f"line {instruction.line}: {instruction.args}\n"
                        f"{result.stdout}{result.stderr}"
                    )

    def copy(self, copy: Copy) -> None:
        dest = self.container_path(copy.dest)
        if copy.from_stage is not None:  # stages share this root, so it is there already
            assert [self.container_path(s) for s in copy.sources] == [dest]
            return
        into_dir = copy.dest.endswith("/") or len(copy.sources) > 1
        for source in copy.sources:
            for file in context_files(source):
                if (ROOT / source).is_dir():
                    target = dest / file.relative_to(ROOT / source)
                else:
                    target = dest / file.name if into_dir else dest
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(file, target)


def _tree(path: Path) -> set[Path]:
    return set(path.rglob("*"))


def test_entrypoint_runs_in_a_venv_built_like_the_image(tmp_path: Path) -> None:
    """Replay the builder stage's own instructions, then run the final stage's entry point.

    Faithful: the RUN lines are read from the Dockerfile and run unchanged, on the build
    context that .dockerignore lets through, so the wheel is built from exactly the files the
    image copies and the venv holds exactly the lock's wheels (hash-checked) and that wheel.
    The entry point then runs with the final stage's ENV only, from a directory outside the
    repository, so nothing of the development venv or the work tree can stand in for it.

    Fast and offline: pip is given the lock's wheels (and the build backend's) from a cache in
    ~/.cache, filled by one `pip download` the first time a lock is seen and reused after
    that, with PIP_NO_INDEX set, so a run takes about 10 s here and touches no network. What
    differs from a real build: the interpreter is this one (3.11, not the image's), `pip` is
    the development venv's, and the user is not switched to 65532.
    """
    wheels = _wheel_cache()
    interpreter_dir = Path(sys.executable).parent
    replay = Replay(
        tmp_path / "rootfs",
        path=f"{interpreter_dir}:/usr/local/bin:/usr/bin:/bin",
        pip_env={
            "PIP_CONFIG_FILE": os.devnull,
            "PIP_NO_INDEX": "1",
            "PIP_FIND_LINKS": str(wheels),
        },
    )
    replay.stage(BUILDER)
    final = Replay(replay.root, path="/usr/local/bin:/usr/bin:/bin", pip_env={})
    final.stage(FINAL)

    venv = Path(final.env["VIRTUAL_ENV"])
    site_packages = [str(p) for p in venv.glob("lib/*/site-packages")]
    installed = {
        canonicalize_name(d.metadata["Name"]): d.version
        for d in importlib.metadata.distributions(path=site_packages)
    }
    assert installed == {
        **{name: pin.version for name, pin in PINS.items()},
        "vpsie-autoscaler": __version__,
    }, "the venv holds the lock's packages, the project, and nothing else (no pip)"

    entrypoint = exec_form(FINAL.all("ENTRYPOINT")[0])
    executable = shutil.which(entrypoint[0], path=final.env["PATH"])
    assert executable is not None
    assert Path(executable).parent == venv / "bin"
    before = _tree(replay.root)

    def run(*args: str) -> str:
        result = subprocess.run(
            [executable, *entrypoint[1:], *args],
            cwd=tmp_path,
            env=final.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    assert {"run", "simulator", "version"} <= set(re.findall(r"^ {4}(\w+)", run("--help"), re.M))
    assert run("version").strip() == f"vpsie-autoscaler {__version__}"
    assert "--server-metrics-port" in run(*exec_form(FINAL.all("CMD")[0]), "--help")

    every_module = (
        "import importlib, pkgutil, autoscaler\n"
        "for m in pkgutil.walk_packages(autoscaler.__path__, 'autoscaler.'):\n"
        "    if not m.name.endswith('__main__'): importlib.import_module(m.name)\n"
        "print(autoscaler.__file__)"
    )
    python = venv / "bin" / "python"
    result = subprocess.run(
        [str(python), "-c", every_module],
        cwd=tmp_path,
        env=final.env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).is_relative_to(venv), "imported the work tree's package"
    assert _tree(replay.root) == before, "running wrote files (read-only root FS would fail)"
