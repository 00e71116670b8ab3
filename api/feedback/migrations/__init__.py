"""Alembic migrations of the feedback store (a package so the wheel carries them)."""
