"""The agent workspace: server-rendered pages (Jinja2) and their small vanilla JavaScript."""
