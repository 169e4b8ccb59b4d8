"""The regression gate: paired comparison of two result sets (`critbench compare`) and its published power."""
