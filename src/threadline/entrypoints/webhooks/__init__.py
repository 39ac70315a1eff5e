"""Provider webhooks: one module per provider, each exposing `router`."""
