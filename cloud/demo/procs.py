"""The real programs as child processes: start, watch, stop gracefully (SIGTERM)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

from schemas.errors import WheelWatchError


class DemoError(WheelWatchError):
    """The demo could not finish: a program failed or the work did not complete."""


def program(module: str, *args: str) -> list[str]:
    """argv running ``module`` (a CLI with ``main``) with this interpreter."""
    return [sys.executable, "-m", module, *args]


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment of the programs: ours, unbuffered output, plus ``extra``."""
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log file (for error messages)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join("    " + x for x in text.splitlines()[-lines:])


def warnings_in(path: Path, lines: int = 5) -> list[str]:
    """The last WARNING/ERROR lines of a log file (why work did not go through)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [x for x in text.splitlines() if " WARNING " in x or " ERROR " in x
            or x.startswith(("WARNING", "ERROR"))][-lines:]


def run_once(name: str, argv: Sequence[str], log: Path, env: Mapping[str, str],
             timeout_s: float = 600.0) -> None:
    """Run a program to the end, output to ``log``; DemoError if it fails."""
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(f"$ {' '.join(argv)}\n")
        fh.flush()
        try:
            rc = subprocess.run(list(argv), stdout=fh, stderr=subprocess.STDOUT, env=dict(env),
                                timeout=timeout_s, check=False).returncode
        except subprocess.TimeoutExpired as exc:
            raise DemoError(f"{name} did not finish in {timeout_s:.0f} s; see {log}") from exc
    if rc != 0:
        raise DemoError(f"{name} failed (exit {rc}); last lines of {log}:\n{tail(log)}")


class Child:
    """A long-running program (``wheel-edge run`` / ``wheel-cloud run``) in the background."""

    def __init__(self, name: str, argv: Sequence[str], log: Path, env: Mapping[str, str]):
        self.name = name
        self.argv = list(argv)
        self.log = log
        self._env = dict(env)
        self._proc: subprocess.Popen[bytes] | None = None
        self._fh: IO[str] | None = None

    def start(self) -> None:
        """Start it with output to its log file."""
        self._fh = open(self.log, "a", encoding="utf-8")  # noqa: SIM115 (closed in stop)
        self._fh.write(f"$ {' '.join(self.argv)}\n")
        self._fh.flush()
        self._proc = subprocess.Popen(self.argv, stdout=self._fh, stderr=subprocess.STDOUT,
                                      env=self._env)

    @property
    def pid(self) -> int | None:
        """Process id (None before start)."""
        return self._proc.pid if self._proc else None

    def check(self) -> None:
        """DemoError if it has exited on its own."""
        if self._proc is not None and self._proc.poll() is not None:
            raise DemoError(f"{self.name} exited unexpectedly (exit {self._proc.returncode});"
                            f" last lines of {self.log}:\n{tail(self.log)}")

    def stop(self, timeout_s: float = 60.0) -> int | None:
        """SIGTERM, wait for the graceful exit; SIGKILL after ``timeout_s`` (returns None)."""
        proc = self._proc
        if proc is None:
            return 0
        code: int | None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            code = None
        if self._fh is not None:
            self._fh.close()
        return code
