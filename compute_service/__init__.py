"""Compute service: the minimal ASGI app shipped to Cloud Run, without database, scraper or Django (DESIGN §8)."""
