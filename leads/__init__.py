"""Leads (one per person and workspace) and submissions: person matching, their reads and their API."""
