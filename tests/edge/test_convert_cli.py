"""`wheel-edge convert`: help, output, exit codes, exact error messages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from edge.cli import main
from tests.edge.sick_helpers import RANGER_E, write_ranger3


def test_help_lists_convert(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    assert "convert" in capsys.readouterr().out


def test_convert_help_documents_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["convert", "--help"])
    out = capsys.readouterr().out
    assert "--calibration" in out and "Exit codes" in out and "--out" in out


def test_convert_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dat = write_ranger3(tmp_path / "Cam_01_20261127_142301_512.dat", 4, 5)
    rc = main(["convert", str(dat.with_suffix(".xml")), "--out", str(tmp_path / "o"),
               "--calibration", "0.1,0.05,0.5"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "Cam_01_20261127_142301_512.csv\t20 rows" in out
    meta = (tmp_path / "o" / "Cam_01_20261127_142301_512.meta.json").read_text()
    assert '"mm_per_line": 0.5' in meta


def test_convert_failure_exit_1_continues(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    good = write_ranger3(tmp_path / "good.dat", 2, 2)
    missing = tmp_path / "gone.dat"
    rc = main(["convert", str(missing), str(good), "-o", str(tmp_path / "o")])
    assert rc == 1
    cap = capsys.readouterr()
    assert f"wheel-edge convert: error: {missing}: file not found" in cap.err
    assert (tmp_path / "o" / "good.csv").exists()


def test_convert_truncated_exact_message(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    dat = write_ranger3(tmp_path / "t.dat", 2, 2)
    dat.write_bytes(dat.read_bytes()[:-1])
    assert main(["convert", str(dat), "-o", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"wheel-edge convert: error: {dat}: truncated: 51 bytes")


@pytest.mark.parametrize(
    ("cal", "msg"),
    [("1,2", "expected mm_per_col,mm_per_row,mm_per_line (3 numbers), got '1,2'"),
     ("1,-2,3", "invalid calibration '1,-2,3': values must be positive numbers"),
     ("a,b,c", "not a number in 'a,b,c'")],
)
def test_bad_calibration_is_usage_error(cal: str, msg: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["convert", "x.dat", "--calibration", cal])
    assert info.value.code == 2
    assert msg in capsys.readouterr().err


def test_no_scan_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["convert"])
    assert info.value.code == 2


def test_installed_entry_point_runs(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "edge.cli", "convert", str(RANGER_E / "zse_buff.dat"),
         "--out", str(tmp_path)], capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "no capture time in the file name" in proc.stderr  # mtime fallback is warned
    assert (tmp_path / "zse_buff.meta.json").exists()
