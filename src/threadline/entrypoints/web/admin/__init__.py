"""The admin console (/app/admin): setting up and running the contact centre in the browser.

One module per section, each a thin view over the capability's use-cases; `_console.py`
holds what every section shares (who may open it, the section menu)."""
