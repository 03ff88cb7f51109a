"""The lock files `make run` and `make test` install from (`make lock` writes them) keep to what
requirements.txt and requirements-dev.txt ask for: every package pinned with its hashes, the runtime
versions the same in both, and matplotlib (the bench's plots) never a runtime dependency."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def locked(name: str) -> dict[str, tuple[str, int]]:
    """Package name: (pinned version, how many file hashes come with it)."""
    pins: dict[str, tuple[str, int]] = {}
    current = None
    for line in (ROOT / name).read_text().splitlines():
        if match := PIN.match(line):
            current = canonicalize_name(match.group(1))
            pins[current] = (match.group(2), 0)
        elif line.strip().startswith("--hash=sha256:") and current:
            version, hashes = pins[current]
            pins[current] = (version, hashes + 1)
    return pins


def asked_for(name: str) -> list[Requirement]:
    wanted = []
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            wanted += asked_for(line.removeprefix("-r ").strip())
        elif line:
            wanted.append(Requirement(line))
    return wanted


@pytest.mark.parametrize(
    ("lock", "source"), [("requirements.lock", "requirements.txt"), ("requirements-dev.lock", "requirements-dev.txt")]
)
def test_every_package_asked_for_is_locked_at_a_version_that_fits_with_its_hashes(lock, source):
    pins = locked(lock)
    for requirement in asked_for(source):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is not in {lock}: run `make lock`"
        version, _ = pins[name]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{lock} pins {name}=={version}, which {source} no longer allows: run `make lock`"
        )
    assert [name for name, (_, hashes) in pins.items() if not hashes] == [], f"pins in {lock} without a hash"


def test_the_runtime_versions_are_the_same_in_both_locks():
    runtime, development = locked("requirements.lock"), locked("requirements-dev.lock")
    assert {name: development.get(name, ("missing", 0))[0] for name in runtime} == {
        name: version for name, (version, _) in runtime.items()
    }


def test_matplotlib_is_for_the_bench_only():
    assert "matplotlib" not in locked("requirements.lock")
    assert "matplotlib" in locked("requirements-dev.lock")
