"""Severity levels the crew acts on: watch < inspect before next run < stop the ride."""

from __future__ import annotations

from enum import IntEnum

from schemas.config.alerts import SeverityConfig


class Severity(IntEnum):
    """Ordered so that ``max()`` gives the worst."""

    WATCH = 1
    INSPECT = 2
    STOP = 3

    @classmethod
    def parse(cls, name: str) -> Severity:
        """``"watch"`` / ``"inspect"`` / ``"stop"`` (case-insensitive) to a level."""
        return cls[name.upper()]

    @property
    def label(self) -> str:
        """Short upper-case word used in SMS and subjects."""
        return self.name

    @property
    def action(self) -> str:
        """What the crew should do, in words."""
        return {
            Severity.WATCH: "watch: check at next scheduled maintenance",
            Severity.INSPECT: "inspect before the next run",
            Severity.STOP: "stop the ride and inspect now",
        }[self]


def wheel_severity(score: float, defect: str, cfg: SeverityConfig) -> Severity:
    """Severity of a wheel below threshold, from its score band and its defect class."""
    if score < cfg.stop_below:
        band = Severity.STOP
    elif score < cfg.inspect_below:
        band = Severity.INSPECT
    else:
        band = Severity.WATCH
    floor_name = cfg.defect_min.get(defect.lower())
    floor = Severity.parse(floor_name) if floor_name else Severity.WATCH
    return max(band, floor)
