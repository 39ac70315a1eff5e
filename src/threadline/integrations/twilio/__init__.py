"""Twilio's wire format: request signatures, TwiML answers and the REST API."""
