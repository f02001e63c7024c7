"""BigQuery warehouse: streaming inserts with a row id per row (from the file id).

BigQuery drops a streamed row whose ``insertId`` it saw in the last minute or so (best
effort); the ``v_wheel_scores`` view deduplicates by key for anything older.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from google.api_core import exceptions as gexc
from google.api_core.retry import Retry
from google.cloud import bigquery

from schemas.errors import StoreError
from schemas.warehouse import VIEW_ORDER, TableDef, load_tables, view_sql


def _json_value(v: Any) -> Any:
    if isinstance(v, datetime | date):
        return v.isoformat()
    return v


class BigQueryWarehouse:
    """Tables in ``project.dataset``."""

    def __init__(self, client: bigquery.Client, dataset: str, location: str = "EU",
                 timeout_s: float = 60.0) -> None:
        self._client = client
        self.dataset = f"{client.project}.{dataset}"
        self._location = location
        self._timeout = timeout_s
        self._retry = Retry(timeout=timeout_s)
        self._tables = load_tables()

    def _table(self, t: TableDef) -> bigquery.Table:
        table = bigquery.Table(f"{self.dataset}.{t.name}", schema=[
            bigquery.SchemaField(f["name"], f["type"], mode=f.get("mode", "NULLABLE"),
                                 description=f.get("description", ""))
            for f in t.fields
        ])
        table.description = t.description
        table.time_partitioning = bigquery.TimePartitioning(
            type_=bigquery.TimePartitioningType.DAY, field=t.partition_field)
        table.clustering_fields = t.clustering
        return table

    def _exists(self, ref: str) -> bool:
        try:
            self._client.get_table(ref, retry=self._retry, timeout=self._timeout)
            return True
        except gexc.NotFound:
            return False

    def ensure_schema(self) -> list[str]:
        """Create the dataset, tables (day-partitioned, clustered) and views if absent."""
        created: list[str] = []
        try:
            ds = bigquery.Dataset(self.dataset)
            ds.location = self._location
            try:
                self._client.get_dataset(self.dataset, retry=self._retry, timeout=self._timeout)
            except gexc.NotFound:
                self._client.create_dataset(ds, exists_ok=True, retry=self._retry,
                                            timeout=self._timeout)
                created.append(self.dataset)
            for t in self._tables.values():
                if not self._exists(f"{self.dataset}.{t.name}"):
                    self._client.create_table(self._table(t), exists_ok=True,
                                              retry=self._retry, timeout=self._timeout)
                    created.append(t.name)
            for v in VIEW_ORDER:
                if not self._exists(f"{self.dataset}.{v}"):
                    view = bigquery.Table(f"{self.dataset}.{v}")
                    view.view_query = view_sql(v, f"`{self.dataset}`")
                    self._client.create_table(view, exists_ok=True, retry=self._retry,
                                              timeout=self._timeout)
                    created.append(v)
        except gexc.GoogleAPICallError as exc:
            raise StoreError(f"provision BigQuery {self.dataset}: {exc}",
                             retryable=False) from exc
        return created

    def insert_rows(
        self, table: str, rows: Sequence[Mapping[str, Any]], row_ids: Sequence[str]
    ) -> None:
        """Streaming insert with ``insertId`` = row id (retries are deduplicated)."""
        if not rows:
            return
        payload = [{k: _json_value(v) for k, v in r.items()} for r in rows]
        try:
            errors = self._client.insert_rows_json(
                f"{self.dataset}.{table}", payload, row_ids=list(row_ids),
                retry=self._retry, timeout=self._timeout)
        except gexc.GoogleAPICallError as exc:
            raise StoreError(f"insert into {self.dataset}.{table}: {exc}") from exc
        if errors:
            raise StoreError(f"insert into {self.dataset}.{table} refused rows: {errors[:3]}",
                             retryable=False)

    def query(self, sql: str) -> list[dict[str, Any]]:
        """Run a query (``{ds}`` = the quoted dataset) and return dict rows."""
        try:
            job = self._client.query(sql.replace("{ds}", f"`{self.dataset}`"),
                                     retry=self._retry, timeout=self._timeout)
            return [dict(r.items()) for r in job.result(timeout=self._timeout)]
        except gexc.GoogleAPICallError as exc:
            raise StoreError(f"query on {self.dataset}: {exc}") from exc
