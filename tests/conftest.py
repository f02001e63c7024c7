"""Root test configuration: every module in tests/fixtures/ is a pytest plugin.

Each external service used by integration tests (Pub/Sub emulator, fake-gcs-server,
bqemulator, PostgreSQL, provider contract mocks, headless browser) has its own fixture
module there; the fixtures start the service on a free loopback port and stop it.
"""

from __future__ import annotations

from pathlib import Path

_FIXTURES = Path(__file__).parent / "fixtures"
pytest_plugins = sorted(
    f"tests.fixtures.{p.stem}" for p in _FIXTURES.glob("*.py") if p.stem != "__init__"
)

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO / ".." / "shared").resolve()
