"""Scraper: source providers (WordPress "Madara" family), polite HTTP and resumable downloads (DESIGN §9)."""
