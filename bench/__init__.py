"""WheelWatch benchmarks (``make bench`` / ``python -m bench [NAME ...]``).

Every module ``bench/<name>.py`` (not starting with ``_``) is a benchmark and exposes
``run() -> list[dict]``. Each row is one measurement::

    {"case": "ranger3 2560x2000", "metric": "convert", "value": 0.21, "unit": "s",
     "baseline": 3.9, "ratio": 18.6, "note": "pandas to_csv"}

``baseline``/``ratio``/``note`` are optional; ``ratio`` is *how many times better than
the baseline* (baseline time / our time), so > 1 is good. ``python -m bench`` runs all
modules, prints one table and saves ``bench/results/<UTC timestamp>.json``.
"""

from __future__ import annotations

import pkgutil
from pathlib import Path

PACKAGE_DIR = Path(__file__).parent
RESULTS_DIR = PACKAGE_DIR / "results"


def available() -> list[str]:
    """Names of the benchmark modules in this package, sorted."""
    return sorted(
        m.name for m in pkgutil.iter_modules([str(PACKAGE_DIR)])
        if not m.name.startswith("_")
    )
