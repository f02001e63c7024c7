"""Local folder blob store: the same keys as the bucket, create-only via hard links."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from schemas.errors import StoreError

FOLDER_CACHE = 4096  # checked folders remembered (a day of a site's wheels: a few)


class LocalBlobStore:
    """Objects are files under ``root``; a write never replaces an existing object."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._real_root: Path | None = None  # resolved once: a walk of stat calls
        self._folders: dict[str, Path] = {}  # key prefix -> its checked, resolved folder

    def _path(self, key: str) -> Path:
        """The object's file; StoreError if the key would lead outside the store.

        The folder part is resolved (symbolic links followed) and checked once per
        folder: resolving costs a stat per path component, and a wheel's objects share
        their folder. The name part must be a plain file name.
        """
        if self._real_root is None:
            self._real_root = self.root.resolve()
        folder, _, name = key.rpartition("/")
        if name in ("", ".", "..") or "\x00" in key:
            raise StoreError(f"object key {key!r} is not a file name", retryable=False)
        real = self._folders.get(folder)
        if real is None:
            real = (self._real_root / folder).resolve() if folder else self._real_root
            if real != self._real_root and self._real_root not in real.parents:
                raise StoreError(f"object key {key!r} escapes the store", retryable=False)
            if len(self._folders) >= FOLDER_CACHE:
                self._folders.clear()
            self._folders[folder] = real
        return real / name

    def ensure_container(self) -> bool:
        """Create the root folder if absent."""
        existed = self.root.is_dir()
        self.root.mkdir(parents=True, exist_ok=True)
        return not existed

    def put_if_absent(self, key: str, data: bytes, content_type: str) -> bool:
        """Write atomically (temp file + link); False if the object already exists."""
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                os.link(tmp, path)
                return True
            except FileExistsError:
                return False
            finally:
                os.unlink(tmp)
        except OSError as exc:
            raise StoreError(f"cannot write {path}: {exc.strerror}") from exc

    def get(self, key: str) -> bytes:
        """Read an object."""
        try:
            return self._path(key).read_bytes()
        except OSError as exc:
            raise StoreError(f"cannot read object {key}: {exc.strerror}",
                             retryable=False) from exc

    def uri(self, key: str) -> str:
        """file:// URI of the object."""
        return self._path(key).as_uri()
