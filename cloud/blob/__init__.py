"""Blob store adapters (local folder default, Cloud Storage) and the object key layout."""

from __future__ import annotations

from datetime import datetime


def object_key(site: str, camera: str, capture: datetime, wheel_id: str, file_id: str,
               ext: str) -> str:
    """``{site}/{camera}/date=YYYY-MM-DD/{wheel_id}__{file_id}.{ext}`` (per camera, by day)."""
    return f"{site}/{camera}/date={capture:%Y-%m-%d}/{wheel_id}__{file_id}.{ext}"
