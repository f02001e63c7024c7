"""Block sums of a wheel map for the coarse grids of the features (rows wrap round the
wheel, missing columns count as 0).

Each block is summed row by row, then column by column, with whole-array strided adds
(the float32 rounding of the means is part of the preprocessing: that order is kept).
"""

from __future__ import annotations

import numpy as np


def _padded(m: np.ndarray, br: int, bc: int, dtype: type[np.generic]) -> np.ndarray:
    """``m`` as ``dtype`` on whole blocks: rows go on round the wheel, new columns 0
    (``m`` itself if it fits and has that type)."""
    rows, cols = m.shape
    nr, nc = -(-rows // br), -(-cols // bc)
    if (nr * br, nc * bc) == (rows, cols) and m.dtype == dtype:
        return m
    pad = np.empty((nr * br, nc * bc), dtype=dtype)
    pad[:rows, :cols] = m
    pad[rows:, :cols] = m[: nr * br - rows]  # the circumference goes on
    pad[:, cols:] = 0
    return pad


def block_sums(m: np.ndarray, br: int, bc: int, dtype: type[np.generic]) -> np.ndarray:
    """Sums of ``br`` x ``bc`` blocks in ``dtype``: the rows of each block added in
    order, then its columns (a new array)."""
    pad = _padded(m, br, bc, dtype)
    if br == 1:
        rsum = pad
    else:
        rsum = pad[0::br] + pad[1::br]
        for i in range(2, br):
            rsum += pad[i::br]
    if bc == 1:
        return rsum.copy() if rsum is m else rsum
    out = rsum[:, 0::bc] + rsum[:, 1::bc]
    for j in range(2, bc):
        out += rsum[:, j::bc]
    return out


def block_mean(m: np.ndarray, br: int, bc: int) -> np.ndarray:
    """Means of ``br`` x ``bc`` blocks (float32): float32 sums times 1 / (br * bc)."""
    out = block_sums(m, br, bc, np.float32)
    out *= np.float32(1 / (br * bc))
    return out


def mostly_valid(valid: np.ndarray, br: int, bc: int) -> np.ndarray:
    """Blocks whose float32 mean of ``valid`` (0/1) is >= 0.5, as ``block_mean`` gives
    it: that mean is ``fl(count * fl(1 / (br * bc)))``, monotone in the count, so a
    count threshold (counted in exact small integers) decides the same."""
    n = br * bc
    share = np.arange(n + 1, dtype=np.float32) * np.float32(1 / n)
    least = int(np.argmax(share >= 0.5))
    acc = np.uint8 if n < 2**8 else np.uint16 if n < 2**16 else np.int64
    return block_sums(valid.view(np.uint8), br, bc, acc) >= least
