"""What the demo plays: trains, wheel map, passes, defects and the missing file."""

from __future__ import annotations

from dataclasses import dataclass

CAMERAS = (("Cam_01", "left", "L"), ("Cam_02", "right", "R"))
DEFECTS = (  # one wheel per defect of the catalogue (WHEELS.md); they stay on the wheel
    ("T1-L03", "chunking"),
    ("T1-R07", "crack"),
    ("T2-L05", "flat_spot"),
    ("T2-R12", "blister"),
)


def train_tag(n: int) -> str:
    """RFID tag of train ``Tn`` (EPC-like hex, as the station reader logs it)."""
    return f"E20000172211{n:08d}"


def wheel_ids(train: str, side_letter: str, count: int) -> list[str]:
    """Wheel ids of one side of a train in passing order: ``T1-L01`` ... ``T1-L16``."""
    return [f"{train}-{side_letter}{i:02d}" for i in range(1, count + 1)]


@dataclass(frozen=True)
class DemoPlan:
    """The demo scenario (defaults: what ``make demo`` plays)."""

    trains: int = 2
    wheels_per_side: int = 16
    passes: tuple[str, ...] = ("T1", "T2", "T1", "T2")
    defects: tuple[tuple[str, str], ...] = DEFECTS
    defect_size: str = "large"
    drop: tuple[int, str] | None = (3, "T1-R10")  # (1-based pass number, wheel id)
    lines_per_rev: int = 600
    width: int = 800
    mm_per_col: float = 0.16
    mm_per_row: float = 0.05
    gap_s: float = 120.0  # capture-time gap between passes (> rfid.pass_gap_s)
    seed: int = 0
    pace_s: float = 0.02  # real seconds between files written by the simulator

    def train_ids(self) -> list[str]:
        """``T1`` ... ``Tn``."""
        return [f"T{n}" for n in range(1, self.trains + 1)]

    def wheel_map(self) -> dict[str, dict[str, list[str]]]:
        """train id -> camera id -> wheel ids in passing order."""
        return {t: {cam: wheel_ids(t, letter, self.wheels_per_side)
                    for cam, _side, letter in CAMERAS} for t in self.train_ids()}

    def files_per_pass(self) -> int:
        """Scans a complete pass produces (every wheel on both sides)."""
        return self.wheels_per_side * len(CAMERAS)

    def dropped_in(self, pass_no: int) -> list[str]:
        """Wheels whose file the cameras do not write in this pass (1-based)."""
        return [self.drop[1]] if self.drop and self.drop[0] == pass_no else []

    def expected_files(self) -> int:
        """Scans the whole demo writes (all passes, minus the dropped file)."""
        dropped = sum(len(self.dropped_in(n)) for n in range(1, len(self.passes) + 1))
        return len(self.passes) * self.files_per_pass() - dropped

    def bad_wheels(self) -> dict[str, str]:
        """wheel id -> the defect the demo puts on it."""
        return dict(self.defects)
