"""Signed webhook delivery: endpoints, the transactional outbox, the worker, retries and replay."""
