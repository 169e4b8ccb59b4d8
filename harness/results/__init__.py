"""The result store: append-only JSONL run records, the hashed index that says which lines critbench wrote
(``index``), array files (``store``), the columnar (Parquet) snapshot (``columnar``), the record schema
(``records``) and the run status codes and outcomes it names (``outcomes``).  Imports run one way:
``store`` -> ``columnar`` -> ``index`` -> ``records`` -> ``outcomes``.  Standard library,
NumPy and pyarrow only: never JAX."""
