"""Consent notices (immutable, hashed versions), consent events, receipts, withdrawal, export and erasure."""
