"""Load and validate the site config from a TOML file plus environment variables.

Environment overrides use ``WHEELWATCH__<SECTION>__<KEY>=value`` (double underscores
separate levels, case-insensitive keys, values parsed as JSON when they parse, else kept
as strings), e.g. ``WHEELWATCH__CLOUD__SQL_URL=postgresql+psycopg://...``.
Secrets are never stored in the file: sections name the environment variable that
holds each secret.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from schemas.config.site import SiteConfig
from schemas.errors import ConfigError, first_error

ENV_PREFIX = "WHEELWATCH__"


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.upper().startswith(ENV_PREFIX):
            continue
        keys = [k.lower() for k in name[len(ENV_PREFIX):].split("__") if k]
        if not keys:
            continue
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        node = overrides
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value
    return overrides


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _first_error(exc: ValidationError) -> ConfigError:
    key, msg = first_error(exc, "<root>")
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return ConfigError(key, f"{msg}{more}")


def load_config_text(
    text: str, *, base_dir: Path | None = None, environ: Mapping[str, str] | None = None
) -> SiteConfig:
    """Parse TOML text (plus env overrides) into a validated :class:`SiteConfig`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("<file>", f"invalid TOML: {exc}") from exc
    data = _merge(data, _env_overrides(os.environ if environ is None else environ))
    if base_dir is not None and "base_dir" not in data:
        data["base_dir"] = str(base_dir)
    try:
        return SiteConfig.model_validate(data)
    except ValidationError as exc:
        raise _first_error(exc) from exc


def load_config(path: str | Path, *, environ: Mapping[str, str] | None = None) -> SiteConfig:
    """Load ``path`` (TOML); relative paths in it resolve against the file's folder."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("<file>", f"cannot read {file}: {exc.strerror}") from exc
    cfg = load_config_text(text, base_dir=file.resolve().parent, environ=environ)
    if not cfg.base_dir.is_absolute():
        cfg.base_dir = (file.resolve().parent / cfg.base_dir).resolve()
    return cfg
