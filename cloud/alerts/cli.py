"""``wheel-cloud`` plug-in: registers ``ack`` and ``alerts-check`` (see :mod:`cloud.cmd_ack`)."""

from __future__ import annotations

import argparse

from cloud.cmd_ack import add_parsers


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the alerting subcommands to the ``wheel-cloud`` dispatcher."""
    add_parsers(sub)
