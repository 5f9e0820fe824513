"""The store: SQLAlchemy models, Alembic migrations and the repositories over them."""
