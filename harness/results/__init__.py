"""The result store: append-only JSONL run records, the hashed index that says which lines critbench wrote
(``index``), array files (``store``), the columnar (Parquet) snapshot (``columnar``), the record schema
(``records``), the run status codes and outcomes it names (``outcomes``), and the one table of summary
columns every table reads (``columns``).  Imports run one way: ``store`` -> ``columnar`` -> ``index`` ->
``records`` -> ``outcomes``.  Standard library, NumPy and pyarrow only: never JAX."""
