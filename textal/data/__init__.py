"""Data in and out: bounded readers of CSV/TSV/JSONL/Parquet/datasets into a Corpus, and the export writers."""
