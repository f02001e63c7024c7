"""The defect catalogue's types: one frozen dataclass per defect kind, plus the truth."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Literal

DefectKind = Literal["chunking", "crack", "flat_spot", "blister"]
DEFECT_KINDS: tuple[DefectKind, ...] = ("chunking", "crack", "flat_spot", "blister")


@dataclass(frozen=True)
class Chunking:
    """Elliptic missing piece of tread (semi-axes along/across before rotation)."""

    kind: ClassVar[DefectKind] = "chunking"
    along_mm: float
    across_mm: float
    semi_along_mm: float
    semi_across_mm: float
    depth_mm: float
    angle_deg: float = 0.0
    dropout_frac: float = 0.1
    brighten: float = 40.0


@dataclass(frozen=True)
class Crack:
    """Narrow V-shaped groove; ``angle_deg`` 0 runs across the tread, 90 along it."""

    kind: ClassVar[DefectKind] = "crack"
    along_mm: float
    across_mm: float
    length_mm: float
    width_mm: float
    depth_mm: float
    angle_deg: float = 0.0
    darken: float = 50.0


@dataclass(frozen=True)
class FlatSpot:
    """A chord cut over ``length_mm`` of circumference of a wheel of ``radius_mm``.

    It spans the tread between ``across_min_mm`` and ``across_max_mm`` (None = every
    column of the grid).
    """

    kind: ClassVar[DefectKind] = "flat_spot"
    along_mm: float
    length_mm: float
    radius_mm: float
    across_min_mm: float | None = None
    across_max_mm: float | None = None
    brighten: float = 12.0

    @property
    def depth_mm(self) -> float:
        """Depth at the middle of the chord: L²/(8R)."""
        return self.length_mm**2 / (8.0 * self.radius_mm)

    @property
    def across_mm(self) -> float:
        """Middle of the flat across the tread (0 when unbounded)."""
        if self.across_min_mm is None or self.across_max_mm is None:
            return 0.0
        return 0.5 * (self.across_min_mm + self.across_max_mm)


@dataclass(frozen=True)
class Blister:
    """Smooth bulge (bond failure) of ``radius_mm`` and ``height_mm``."""

    kind: ClassVar[DefectKind] = "blister"
    along_mm: float
    across_mm: float
    radius_mm: float
    height_mm: float
    aspect: float = 1.0
    angle_deg: float = 0.0
    intensity_delta: float = 0.0


Defect = Chunking | Crack | FlatSpot | Blister


@dataclass(frozen=True)
class DefectTruth:
    """Where a defect was put and what it is (JSON-able via :meth:`to_dict`).

    ``observed_mm`` tells how visible the defect is on this grid: a crack narrower than
    a line pitch, or a small chunk between two lines, shows less than its true depth.
    """

    kind: DefectKind
    params: dict[str, float | None]
    along_mm: float
    across_mm: float
    line: int
    column: int
    line_span: tuple[int, int]
    column_span: tuple[int, int]
    observed_mm: float = 0.0  # largest height change the grid actually shows
    affected_points: int = 0  # points changed by more than 0.05 mm or made missing

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for the ``.truth.json`` file."""
        out = asdict(self)
        out["line_span"] = list(self.line_span)
        out["column_span"] = list(self.column_span)
        return out


def defect_params(defect: Defect) -> dict[str, float | None]:
    """The defect's size/shape parameters (and derived depth for flat spots)."""
    params: dict[str, float | None] = {
        k: (None if v is None else float(v)) for k, v in asdict(defect).items()
    }
    if isinstance(defect, FlatSpot):
        params["depth_mm"] = defect.depth_mm
    return params
