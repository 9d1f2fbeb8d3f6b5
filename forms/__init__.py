"""Form definitions: fields, consent purposes and settings, and their admin API."""
