"""Scan images from a local folder: ``<root>/<file_id>/<heatmap|range|intensity>.png``."""

from __future__ import annotations

from pathlib import Path

from cloud.dashboard.ports import IMAGE_KINDS, ImageKind


class LocalScanImages:
    """Reads pre-rendered PNGs; ids are validated by the routes, paths checked here too."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def image(self, file_id: str, kind: ImageKind) -> bytes | None:
        """The PNG, or None if missing or if the path would leave the root."""
        if kind not in IMAGE_KINDS or "/" in file_id or "\\" in file_id:
            return None
        path = (self.root / file_id / f"{kind}.png").resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            return None
        return path.read_bytes()

    def available(self, file_ids: list[str]) -> set[str]:
        """The scans among ``file_ids`` that have a heatmap image stored."""
        return {f for f in file_ids if "/" not in f and "\\" not in f
                and (self.root / f / "heatmap.png").is_file()}

    def store(self, file_id: str, kind: ImageKind, png: bytes) -> None:
        """Cache a rendered image (written atomically)."""
        folder = (self.root / file_id).resolve()
        if not folder.is_relative_to(self.root) or kind not in IMAGE_KINDS:
            return
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{kind}.png.tmp"
        tmp.write_bytes(png)
        tmp.replace(folder / f"{kind}.png")
