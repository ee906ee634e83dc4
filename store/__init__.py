"""Storage: SQLAlchemy models, engine and Alembic migrations. Knows tables and nothing else."""
