"""Consent: notices, events, where each purpose stands, receipts, double opt-in, withdrawal, tokens, its API."""
