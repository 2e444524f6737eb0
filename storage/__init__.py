"""Everything that knows SQL: models, repositories and migrations."""
