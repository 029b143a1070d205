"""Test doubles that speak the real protocols on loopback, for tests and demos (see each module)."""
