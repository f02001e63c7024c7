"""Multi-scale physical features of the residual map (what separates defects from benign).

- flat spot: full-width depression over 15-70 mm -> matched parabolic filters on the
  per-row median of the residual (averaging across the tread beats the noise);
- chunking / crack: depressions at several scales, oriented line filters for cracks;
- blister: bulges >= 0.4 mm at 3-6 mm scale (seam ridges < 0.15 mm and thin);
- intensity is never used for detection (heat bands, dust are benign).
Each detector reports a robust z (noise-normalised) and an amplitude in mm, plus the
grid cell where it peaked (for the location).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from models.serving.blocks import block_mean as _block_mean
from models.serving.blocks import mostly_valid
from models.serving.gauss import gaussian
from models.serving.residual import Residual
from models.serving.robust import mad as _mad
from models.serving.robust import nanmedian

SCALES_MM = (1.0, 2.5, 6.0)
FLAT_MM = (15.0, 25.0, 40.0, 70.0)
CRACK_MM = 8.0
ANGLES = (0.0, 30.0, 60.0, 90.0, 120.0, 150.0)
SD_FLOOR_MM = 0.012  # cell-level noise floor for z scores
FLAT_FLOOR_MM = 0.004  # floor of the flat-spot amplitude spread
SAMPLE = 10000  # cells the noise level (MAD) of a map is measured on
LINE_STEP_MM = 1.0  # spacing of the points of a crack line (about one cell along)
LINE_BAND = 65536  # cells per band of the line filter (~256 kB per float32 array)


@dataclass
class Detection:
    """One detector's evidence: z (noise units), amplitude (mm), peak cell, map."""

    z: float
    mm: float
    row: int
    col: int


@dataclass
class Features:
    """Feature vector + per-detector detections + an evidence map for the heatmap."""

    names: list[str]
    values: np.ndarray  # float32 (n_features,)
    detections: dict[str, Detection] = field(default_factory=dict)
    evidence: np.ndarray | None = None  # (rows, cols) depression+bulge z




@functools.lru_cache(maxsize=16)
def _flat_kernel(length: float, along_mm: float) -> tuple[int, np.ndarray, float]:
    """Half length (rows), zero-mean parabolic chord filter and its squared norm."""
    half = max(2, round(length / 2 / along_mm))
    t = np.arange(-2 * half, 2 * half + 1) * along_mm
    k = np.clip((length / 2) ** 2 - t**2, 0, None) / (length / 2) ** 2
    k = k - k.mean()
    k.flags.writeable = False
    return half, k, float(np.sum(k * k))


def _flat_spot(res: Residual, along_mm: float) -> Detection:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        s = nanmedian(res.r, 1)
    s = np.where(np.isfinite(s), s, 0.0)
    best = Detection(0.0, 0.0, 0, res.r.shape[1] // 2)
    n = s.size
    for length in FLAT_MM:
        half, k, kk = _flat_kernel(length, along_mm)
        if k.size >= n:
            continue
        ext = np.concatenate([s[-2 * half :], s, s[: 2 * half]])
        amp = -np.convolve(ext, k[::-1], mode="valid")[:n] / kk
        z = amp / max(_mad(amp), FLAT_FLOOR_MM)
        i = int(np.argmax(z))
        if z[i] > best.z:
            best = Detection(float(z[i]), float(amp[i]), i, res.r.shape[1] // 2)
    return best


class _Cells:
    """The valid cells of one wheel and the subsample the noise level is measured on."""

    def __init__(self, valid: np.ndarray) -> None:
        self.valid = valid
        self.invalid = np.flatnonzero(~valid.ravel())
        # what ``m[valid][::step]`` picks (``m.ravel()`` if nothing is valid)
        idx = np.flatnonzero(valid.ravel()) if valid.any() else np.arange(valid.size)
        self.sample = idx[:: max(1, idx.size // SAMPLE)]


def _extremes(m: np.ndarray, cells: _Cells, spread: bool = True,
              scratch: bool = False) -> tuple[Detection, Detection, float]:
    """Deepest and highest valid cell of ``m`` in noise units (sd = 1 if not ``spread``).

    Invalid cells count as 0; ``scratch``: ``m`` is a temporary that may be overwritten
    (else it is copied, unless its invalid cells already hold +0.0, as a filled map's).
    """
    # a noise floor keeps z comparable between noisy and very clean (fine) cameras
    sd = max(_mad(m.ravel()[cells.sample]), SD_FLOOR_MM) if spread else 1.0
    lo = m
    if cells.invalid.size and (scratch or m.flat[cells.invalid].view(np.uint8).any()):
        lo = m if scratch else m.copy()
        lo.flat[cells.invalid] = 0.0
    i_min, i_max = int(np.argmin(lo)), int(np.argmax(lo))
    return (*_detections((i_min, lo.flat[i_min]), (i_max, lo.flat[i_max]), sd, m.shape[1]),
            sd)


def _detections(low: tuple[int, np.float32], high: tuple[int, np.float32], sd: float,
                cols: int) -> tuple[Detection, Detection]:
    """Depression and bulge detections from the (flat index, value) of the extremes."""
    (i_min, v_min), (i_max, v_max) = low, high
    r0, c0 = divmod(i_min, cols)
    r1, c1 = divmod(i_max, cols)
    return (Detection(float(-v_min / sd), float(-v_min), r0, c0),
            Detection(float(v_max / sd), float(v_max), r1, c1))


def _blocks(s: float, along_mm: float, across_mm: float) -> tuple[int, int]:
    """Block size (rows, cols) of the coarse grid a scale is smoothed on: about s/2.5 of
    half a sigma per block (sampling at block centres loses <= 3 % of a peak)."""
    return max(1, int(s / 2 / along_mm)), max(1, int(s / 2 / across_mm))


class _Coarse:
    """The residual averaged over blocks, with the valid share and the noise sample."""

    def __init__(self, f: np.ndarray, cells: _Cells, br: int, bc: int) -> None:
        self.br, self.bc = br, bc
        self.f, self.cells = f, cells
        if br * bc > 1:
            self.f = _block_mean(f, br, bc)
            self.cells = _Cells(mostly_valid(cells.valid, br, bc))  # mean >= 0.5

    def cell(self, d: Detection, shape: tuple[int, int]) -> Detection:
        """Detection at the centre of its block on the full grid."""
        return Detection(d.z, d.mm, min(d.row * self.br + self.br // 2, shape[0] - 1),
                         min(d.col * self.bc + self.bc // 2, shape[1] - 1))


def _smoothed(f: np.ndarray, s: float, along_mm: float, across_mm: float,
              cells: _Cells) -> tuple[Detection, Detection, float, np.ndarray, _Coarse]:
    """Detections at smoothing scale ``s`` and the smoothed map (on the coarse grid).

    Gaussian of sigma ``s`` mm on block means: the blocks' own spread (a box of b cells
    has variance (b^2 - 1) / 12) is taken off the Gaussian's, in float32.
    """
    co = _Coarse(f, cells, *_blocks(s, along_mm, across_mm))
    sig = tuple(float(np.sqrt(max((s / mm) ** 2 - (b * b - 1) / 12, 0.25))) / b
                for mm, b in ((along_mm, co.br), (across_mm, co.bc)))
    g = gaussian(co.f, sig, 3.0, dtype=np.float32)  # ndimage.gaussian_filter's result
    dep, bul, sd = _extremes(g, co.cells, scratch=s != SCALES_MM[1])  # 2.5: evidence
    return co.cell(dep, f.shape), co.cell(bul, f.shape), sd, g, co


@functools.lru_cache(maxsize=16)
def _line_offsets(along_mm: float, across_mm: float) -> tuple[tuple[tuple[int, int], ...], ...]:
    """Cells (rows, cols) of an 8 mm line per orientation, in the order they are summed
    (the iteration order of the set that dedups them)."""
    steps = np.arange(-CRACK_MM / 2, CRACK_MM / 2 + 1e-9, LINE_STEP_MM)
    lines = []
    for ang in ANGLES:
        a = np.deg2rad(ang)
        offs = {(round(t * np.cos(a) / along_mm), round(t * np.sin(a) / across_mm))
                for t in steps}
        lines.append(tuple(offs))
    return tuple(lines)


def _line_filter(f: np.ndarray, along_mm: float, across_mm: float) -> np.ndarray:
    """Minimum over orientations of the mean along an 8 mm line through each cell.

    Works on the zero-padded map flattened row by row: a shift by (dr, dc) cells is one
    contiguous slice at ``dr * width + dc`` (same float32 sums, in the same order, as
    shifting 2-D windows; the pad columns of the result are dropped), in bands of rows
    that stay in the CPU cache.
    """
    rows, cols = f.shape
    pr = int(np.ceil(CRACK_MM / 2 / along_mm)) + 1
    pc = int(np.ceil(CRACK_MM / 2 / across_mm)) + 1
    width = cols + 2 * pc
    pad = np.empty((rows + 2 * pr, width), dtype=f.dtype)
    pad[pr : pr + rows, pc : pc + cols] = f
    for part in (pad[:pr], pad[pr + rows :], pad[:, :pc], pad[:, pc + cols :]):
        part[...] = 0  # the zero border
    flat = pad.ravel()
    best = np.empty(rows * width, dtype=np.float32)  # min(inf, first line) is that line
    band = max(1, LINE_BAND // width)
    acc = np.empty(band * width, dtype=np.float32)
    for r0 in range(0, rows, band):
        n = (min(rows, r0 + band) - r0) * width
        _line_band(flat, (pr + r0) * width + pc, width, n, acc[:n],
                   best[r0 * width : r0 * width + n], _line_offsets(along_mm, across_mm))
    return np.ascontiguousarray(best.reshape(rows, width)[:, :cols])


def _line_band(flat: np.ndarray, base: int, width: int, n: int, acc: np.ndarray,
               best: np.ndarray, lines: tuple[tuple[tuple[int, int], ...], ...]) -> None:
    """``best`` = the least of the line means for the ``n`` cells from flat index ``base``."""
    for i, offs in enumerate(lines):
        starts = [base + dr * width + dc for dr, dc in offs]
        np.add(flat[starts[0] : starts[0] + n], 0.0, out=acc)  # the sum starts from 0.0
        for o in starts[1:]:
            np.add(acc, flat[o : o + n], out=acc)
        if i == 0:
            np.divide(acc, len(offs), out=best)
        else:
            np.divide(acc, len(offs), out=acc)
            np.minimum(best, acc, out=best)


def _full(c: np.ndarray, co: _Coarse, shape: tuple[int, int]) -> np.ndarray:
    """Coarse map -> full grid (each block's value on its cells)."""
    for axis, b in enumerate((co.br, co.bc)):
        if b > 1:
            c = np.repeat(c, b, axis)
    return c[: shape[0], : shape[1]]


def extract(res: Residual, along_mm: float, across_mm: float,
            missing_frac: float) -> Features:
    """Feature vector of one wheel (see FEATURE_NAMES)."""
    f = res.filled
    cells = _Cells(np.isfinite(res.r))
    det: dict[str, Detection] = {"flat": _flat_spot(res, along_mm)}
    vals: list[float] = [det["flat"].z, det["flat"].mm]
    evidence = None  # the 2.5 mm map (SCALES_MM[1])
    for s in SCALES_MM:
        dep, bul, sd, g, co = _smoothed(f, s, along_mm, across_mm, cells)
        det[f"dep{s:g}"], det[f"bulge{s:g}"] = dep, bul
        vals += [dep.z, dep.mm, bul.z, bul.mm]
        if s == SCALES_MM[1]:
            z = np.abs(g)
            z /= np.float32(sd)
            evidence = _full(z, co, f.shape)
            ok, cell_mm2 = co.cells.valid, along_mm * across_mm * co.br * co.bc
            strong = (g < -max(0.25, 5 * sd)) & ok
            bumps = (g > max(0.2, 5 * sd)) & ok
            vals += [float(np.log1p(np.count_nonzero(strong) * cell_mm2)),
                     float(np.log1p(np.count_nonzero(bumps) * cell_mm2))]
    line = _line_filter(f, along_mm, across_mm)
    cdep, _, _ = _extremes(line, cells, scratch=True)
    det["crack"] = cdep
    vals += [cdep.z, cdep.mm]
    lline = _line_filter(res.low, along_mm, across_mm)
    ldep, _, _ = _extremes(lline, cells, scratch=True)
    det["crack_low"] = ldep
    vals += [ldep.z, ldep.mm]
    fdep, fbul, _ = _extremes(f, cells, spread=False)  # only the mm are used
    sig = max(res.sigma, SD_FLOOR_MM)
    vals += [fdep.mm / sig, fbul.mm / sig]
    vals += [float(np.log(res.sigma)), missing_frac, res.runout_mm]
    return Features(list(FEATURE_NAMES), np.asarray(vals, dtype=np.float32), det, evidence)


FEATURE_NAMES: tuple[str, ...] = (
    "flat_z", "flat_mm",
    "dep1_z", "dep1_mm", "bulge1_z", "bulge1_mm",
    "dep2.5_z", "dep2.5_mm", "bulge2.5_z", "bulge2.5_mm", "dep_area", "bulge_area",
    "dep6_z", "dep6_mm", "bulge6_z", "bulge6_mm",
    "crack_z", "crack_mm", "crack_low_z", "crack_low_mm",
    "fine_dep_z", "fine_bulge_z",
    "log_noise", "missing_frac", "runout_mm",
)
