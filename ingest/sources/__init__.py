"""Inbound sources: leads pushed by other systems' webhooks (signed JSON, Google Ads, Meta Lead Ads)."""
