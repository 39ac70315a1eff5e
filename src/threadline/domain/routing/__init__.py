"""Routing rules: who may take which work, and who should."""
