"""Threadline: one customer, one conversation, every channel."""

__version__ = "0.1.0"
