"""schemas.calibration: Calibration model and range -> height conversion."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from schemas.calibration import (
    Calibration,
    column_mm,
    float_missing,
    height_mm,
    merge_traits,
    range_from_height_mm,
    sensor_rows,
)
from schemas.errors import ContractError

RANGER_E = {"origin z": "510.875", "scale z": "-0.0625", "origin x": "0", "scale x": "1",
            "fov z2": "8191"}
RANGER3 = {"origin z": "0", "scale z": "0.0625", "origin x": "0", "scale x": "1",
           "fov z2": "13311"}
CAL = Calibration(mm_per_col=0.1, mm_per_row=0.05, mm_per_line=0.5)


def test_model_rejects_unknown_and_bad_fields() -> None:
    with pytest.raises(ValidationError):
        Calibration(mm_per_col=0.1, mm_per_row=0.05, mm_per_line=0.5, colour="red")
    with pytest.raises(ValidationError, match="exactly one"):
        Calibration(mm_per_col=0.1, mm_per_row=0.05)
    with pytest.raises(ValidationError, match="exactly one"):
        Calibration(mm_per_col=0.1, mm_per_row=0.05, mm_per_line=1, lines_per_rev=2000)
    with pytest.raises(ValidationError):
        Calibration(mm_per_col=0, mm_per_row=0.05, mm_per_line=1)


def test_parse_cli_form() -> None:
    assert Calibration.parse("0.1, 0.05,0.5") == CAL
    for bad in ("0.1,0.05", "a,b,c", "0.1,0.05,-1"):
        with pytest.raises(ValueError):
            Calibration.parse(bad)


def test_line_pitch() -> None:
    assert CAL.line_pitch_mm() == 0.5
    cal = Calibration(mm_per_col=0.1, mm_per_row=0.05, lines_per_rev=1000)
    assert cal.line_pitch_mm(diameter_mm=300) == pytest.approx(np.pi * 300 / 1000)
    assert cal.line_pitch_mm() is None


def test_sensor_rows_ranger_e() -> None:
    rows = sensor_rows(np.array([[0, 16, 8169]], dtype=np.uint16), RANGER_E)
    assert np.isnan(rows[0, 0])
    assert rows[0, 1] == pytest.approx(509.875)
    assert rows[0, 2] == pytest.approx(510.875 - 8169 / 16)


@pytest.mark.parametrize("traits", [RANGER_E, RANGER3], ids=["ranger_e", "ranger3"])
def test_height_grows_with_value_and_scales_by_mm_per_row(traits: dict) -> None:
    v = np.array([0, 1000, 1016], dtype=np.uint16)
    h = height_mm(v, traits, CAL)
    assert h.dtype == np.float32 and np.isnan(h[0])
    assert h[2] - h[1] == pytest.approx(16 * 0.0625 * 0.05, abs=1e-5)  # one sensor row = 0.05 mm


def test_height_sign_override() -> None:
    cal = CAL.model_copy(update={"height_sign": 1})
    v = np.array([1000, 1016], dtype=np.uint16)
    h = height_mm(v, RANGER_E, cal)
    assert h[1] - h[0] == pytest.approx(-0.05, abs=1e-5)


def test_integer_range_needs_calibration() -> None:
    with pytest.raises(ContractError, match="calibration"):
        height_mm(np.ones((2, 2), np.uint16), RANGER_E)


def test_float_data_as_given_with_all_missing_markers() -> None:
    v = np.array([12.5, 0.0, np.nan, -1e6, np.inf, -3.25], dtype=np.float32)
    h = height_mm(v, {"lower bound r": "0"})
    assert h[0] == 12.5 and h[5] == -3.25
    assert np.isnan(h[1:5]).all()
    np.testing.assert_array_equal(float_missing(v), [False, True, True, True, True, False])


def test_rectified_word_with_genistream_scale() -> None:
    traits = {"c axis range scale": "0.0003", "c axis range offset": "136.0"}
    h = height_mm(np.array([0, 1, 10001], dtype=np.uint16), traits)
    assert np.isnan(h[0]) and h[1] == pytest.approx(136.0003) and h[2] == pytest.approx(139.0003)


@pytest.mark.parametrize("traits", [RANGER_E, RANGER3], ids=["ranger_e", "ranger3"])
def test_range_from_height_is_inverse(traits: dict) -> None:
    rng = np.random.default_rng(0)
    v = rng.integers(1, 8000, size=(20, 30)).astype(np.uint16)
    v[0, :5] = 0
    back = range_from_height_mm(height_mm(v, traits, CAL), traits, CAL)
    np.testing.assert_array_equal(back, v)


def test_range_from_height_clips_to_valid() -> None:
    out = range_from_height_mm(np.array([1e6, -1e6, np.nan]), RANGER3, CAL)
    assert out.tolist() == [13311, 1, 0]


def test_column_mm_and_merge() -> None:
    traits = merge_traits({"sensorrangetraits": {"origin x": "10", "scale x": "2"}})
    np.testing.assert_allclose(column_mm(3, traits, CAL), [1.0, 1.2, 1.4])
    with pytest.raises(ContractError, match="not a number"):
        sensor_rows(np.ones(2, np.uint16), {"scale z": "x"})
