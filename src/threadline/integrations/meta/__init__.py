"""Meta platform adapters: WhatsApp Cloud API and Messenger webhooks and the Graph API."""
