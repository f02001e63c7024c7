"""Fixtures of the fault suite: a site factory whose programs are stopped afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.faults.harness import REPORTED, FaultSite


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One figures line per fault scenario that ran (also in test-artifacts/faults/)."""
    if REPORTED:
        terminalreporter.section("fault scenarios: figures")
        for line in REPORTED:
            terminalreporter.write_line(line[:400])


@pytest.fixture
def make_site(tmp_path: Path) -> Iterator[Callable[..., FaultSite]]:
    """``make_site(**kw)`` builds a FaultSite under tmp_path; programs are stopped after."""
    sites: list[FaultSite] = []

    def make(name: str = "site", **kw: Any) -> FaultSite:
        site = FaultSite(tmp_path / name, **kw)
        sites.append(site)
        return site

    yield make
    for s in sites:
        s.stop_all()
