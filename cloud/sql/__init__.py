"""Relational store (SQLAlchemy 2): ORM models, migrations, repositories."""
