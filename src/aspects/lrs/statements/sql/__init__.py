"""SQL of the statements resource, one named file per query."""
