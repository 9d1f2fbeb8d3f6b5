"""Workspaces, their API keys, the Bearer guard and the audit log."""
