"""Telegram bots: the update webhook, the update parser and the Bot API sender."""
