"""Shared foundations: settings, database, ids, errors and security helpers."""
