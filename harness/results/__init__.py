"""The result store: append-only JSONL run records, the hashed index that says which lines critbench wrote
(``index``), array files (``store``), the columnar (Parquet) snapshot (``columnar``) and the record schema
(``records``), and the one table of summary columns every table reads (``columns``).  Imports run one way:
``store`` -> ``columnar`` -> ``index`` -> ``records``.  Standard library, NumPy and pyarrow only: never JAX."""
