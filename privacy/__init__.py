"""Privacy rights and retention: export and erasure of a person, the retention purge, their API."""
