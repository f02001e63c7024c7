"""Cloud Storage blob store (honours ``STORAGE_EMULATOR_HOST``).

Writes are create-only: ``if_generation_match=0`` makes the service refuse to replace an
existing object, so two workers storing the same file id end with one object.
"""

from __future__ import annotations

from google.api_core import exceptions as gexc
from google.cloud import storage  # type: ignore[attr-defined]

from schemas.errors import StoreError


class GcsBlobStore:
    """Objects in one bucket."""

    def __init__(self, client: storage.Client, bucket: str, location: str = "EU") -> None:
        self._client = client
        self._bucket_name = bucket
        self._location = location
        self._bucket = client.bucket(bucket)

    def ensure_container(self) -> bool:
        """Create the bucket if absent."""
        try:
            self._client.create_bucket(self._bucket_name, location=self._location)
            return True
        except gexc.Conflict:
            return False
        except gexc.GoogleAPICallError as exc:
            raise StoreError(f"create bucket {self._bucket_name}: {exc}",
                             retryable=False) from exc

    def put_if_absent(self, key: str, data: bytes, content_type: str) -> bool:
        """Upload unless the object exists; False if it did."""
        blob = self._bucket.blob(key)
        try:
            blob.upload_from_string(data, content_type=content_type, if_generation_match=0)
            return True
        except gexc.PreconditionFailed:
            return False
        except gexc.GoogleAPICallError as exc:
            raise StoreError(f"upload gs://{self._bucket_name}/{key}: {exc}") from exc

    def get(self, key: str) -> bytes:
        """Download an object."""
        try:
            return bytes(self._bucket.blob(key).download_as_bytes())
        except gexc.NotFound as exc:
            raise StoreError(f"gs://{self._bucket_name}/{key} not found",
                             retryable=False) from exc
        except gexc.GoogleAPICallError as exc:
            raise StoreError(f"download gs://{self._bucket_name}/{key}: {exc}") from exc

    def uri(self, key: str) -> str:
        """gs:// URI of the object."""
        return f"gs://{self._bucket_name}/{key}"
