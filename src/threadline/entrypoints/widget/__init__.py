"""The web-chat widget: the loader script, its isolated frame, the visitor API and socket."""
