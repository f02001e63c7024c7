"""Plug-in hook for ``wheel-cloud`` (see ``cloud.cli.PLUGINS``): adds ``dashboard``."""

from cloud.cmd_dashboard import register

__all__ = ["register"]
