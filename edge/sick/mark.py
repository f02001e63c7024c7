"""Decode the per-line Mark subcomponent of an iCon scan.

Mark data is one ``INT`` row per line: 2 words (standard, Ranger E) or 5 words
(extended, Ranger3 / Ruler). Word 0 is the mark value (the encoder counter,
Ranger3 ``ChunkEncoderValue``); word 1 is the I/O status word, decoded with the bit
positions used by SICK's own iCon reader:

=========  ======================================================================
bit 30     enable (frame trigger active; Ranger3 ``ChunkFrameTriggerActive``)
bit 29     reserved here; set on every line of the real Ranger E55 samples
bit 28     encoder channel A
bit 27     encoder channel B
bit 25     line trigger active (Ranger3)
bit 24     encoder reset active (Ranger3)
bits 16-23 overtrig count: triggers discarded since the previous line
bits 0-15  low status half (Ranger E: a running counter; kept raw)
=========  ======================================================================

Extended mark data adds word 2 = sample time stamp, word 3 = encoder pulse time stamp
and word 4 = camera scan id (Ranger E naming; kept raw for other cameras).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from schemas.errors import ScanFormatError

BIT_ENABLE = 30
BIT_RESERVED_29 = 29
BIT_ENCODER_A = 28
BIT_ENCODER_B = 27
BIT_LINE_TRIGGER = 25
BIT_ENCODER_RESET = 24
OVERTRIG_SHIFT = 16
OVERTRIG_MASK = 0xFF


@dataclass(frozen=True, eq=False)
class MarkFields:
    """Per-line Mark fields, each a 1-D array of length ``lines``."""

    encoder_value: np.ndarray  # uint32: the encoder counter wraps at 2**32
    status: np.ndarray  # uint32: the raw I/O status word
    enable: np.ndarray  # bool
    encoder_a: np.ndarray  # bool
    encoder_b: np.ndarray  # bool
    line_trigger: np.ndarray  # bool
    encoder_reset: np.ndarray  # bool
    reserved_bit29: np.ndarray  # bool
    overtrig_count: np.ndarray  # uint8
    status_low16: np.ndarray  # uint16
    sample_timestamp: np.ndarray | None = None  # uint32, extended mark only
    encoder_timestamp: np.ndarray | None = None  # uint32, extended mark only
    scan_id: np.ndarray | None = None  # uint32, extended mark only

    def encoder_steps(self) -> np.ndarray:
        """Encoder ticks between consecutive lines (int64, wrap-around corrected)."""
        diff = np.diff(self.encoder_value.astype(np.int64))
        return np.where(diff < -(1 << 31), diff + (1 << 32), diff)


def _bit(status: np.ndarray, bit: int) -> np.ndarray:
    return ((status >> np.uint32(bit)) & np.uint32(1)).astype(bool)


def decode_mark(mark: np.ndarray, path: Path | str = "<mark>") -> MarkFields:
    """Decode a ``(lines, 2|5)`` INT Mark array into named fields."""
    if mark.ndim != 2 or mark.shape[1] < 2 or mark.dtype.itemsize != 4:
        raise ScanFormatError(
            path, f"Mark must be (lines, >=2) 4-byte ints, got {mark.shape} {mark.dtype}"
        )
    words = np.asarray(mark).view(np.dtype("<u4"))
    status = words[:, 1]
    extended = mark.shape[1] >= 5
    return MarkFields(
        encoder_value=words[:, 0],
        status=status,
        enable=_bit(status, BIT_ENABLE),
        encoder_a=_bit(status, BIT_ENCODER_A),
        encoder_b=_bit(status, BIT_ENCODER_B),
        line_trigger=_bit(status, BIT_LINE_TRIGGER),
        encoder_reset=_bit(status, BIT_ENCODER_RESET),
        reserved_bit29=_bit(status, BIT_RESERVED_29),
        overtrig_count=((status >> np.uint32(OVERTRIG_SHIFT)) & OVERTRIG_MASK).astype(np.uint8),
        status_low16=(status & np.uint32(0xFFFF)).astype(np.uint16),
        sample_timestamp=words[:, 2] if extended else None,
        encoder_timestamp=words[:, 3] if extended else None,
        scan_id=words[:, 4] if extended else None,
    )


def encode_status(
    *,
    enable: bool | np.ndarray = True,
    encoder_a: bool | np.ndarray = False,
    encoder_b: bool | np.ndarray = False,
    overtrig_count: int | np.ndarray = 0,
    low16: int | np.ndarray = 0,
) -> np.ndarray:
    """Build status words (as int32, as stored) — the inverse of :func:`decode_mark`."""
    status = (
        (np.asarray(enable, dtype=np.uint32) << np.uint32(BIT_ENABLE))
        | (np.asarray(encoder_a, dtype=np.uint32) << np.uint32(BIT_ENCODER_A))
        | (np.asarray(encoder_b, dtype=np.uint32) << np.uint32(BIT_ENCODER_B))
        | ((np.asarray(overtrig_count, dtype=np.uint32) & np.uint32(OVERTRIG_MASK))
           << np.uint32(OVERTRIG_SHIFT))
        | (np.asarray(low16, dtype=np.uint32) & np.uint32(0xFFFF))
    )
    return np.atleast_1d(status).astype(np.uint32).view(np.int32)
