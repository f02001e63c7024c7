"""``wheel-edge``: the site PC's command line, a small dispatcher.

Each subcommand lives in its own module listed in :data:`SUBCOMMANDS`; the module
exposes ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``. Keep
those modules light at import time (import heavy dependencies inside ``run``) so that
``wheel-edge --help`` stays fast. Exit codes: 0 success, 1 failure, 2 usage or
config error.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from types import ModuleType

#: Subcommand modules, in the order ``--help`` lists them. Add yours here.
SUBCOMMANDS: tuple[str, ...] = (
    "edge.cmd_convert",
    "edge.cmd_republish",
    "edge.cmd_run",
    "edge.cmd_status",
    "edge.cmd_validate",
)

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def _modules() -> list[ModuleType]:
    return [importlib.import_module(name) for name in SUBCOMMANDS]


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one subparser per subcommand module."""
    parser = argparse.ArgumentParser(
        prog="wheel-edge",
        description="WheelWatch edge: read SICK scans, map them to wheels, ship them.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more log output (-v info, -vv debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for mod in _modules():
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``wheel-edge``; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args._run(args))
    except KeyboardInterrupt:
        print("wheel-edge: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
