"""The result store: append-only JSONL run records with their index and array files, the columnar
(Parquet) snapshot, and the record schema. Standard library, NumPy and pyarrow only: never JAX."""
