"""Assets shared by Nichiro's DAGs (data-aware scheduling shows them in the UI)."""

from __future__ import annotations

from airflow.sdk import Asset

# An event is emitted when a nichiro_ingest run stored new or changed articles.
ARTICLES = Asset(name="nichiro_articles", uri="nichiro://news-db/public/articles")
