"""The web-chat widget's channel: replies reach the visitor through the socket, not a provider."""
