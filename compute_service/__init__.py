"""Compute service: the minimal ASGI app shipped to Cloud Run, without database or scraper (DESIGN §8; planned)."""
