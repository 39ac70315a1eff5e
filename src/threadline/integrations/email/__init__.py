"""Email: parsing, threading addresses, automated-mail detection and inbound ingestion."""
