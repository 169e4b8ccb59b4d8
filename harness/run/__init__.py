"""The execution pipeline: spec -> plan -> execute. Typed run specifications, keys and initial points, the
runner that solves blocks of runs and the shard step that checks, scores and records them, progress and provenance."""
