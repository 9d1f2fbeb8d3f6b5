"""The ingest pipeline: parse, validate, spam, idempotency, persist, the group-commit writer; inbound sources."""
