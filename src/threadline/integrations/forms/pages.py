"""The small HTML pages of the public contact form: the form, thanks, and a refusal.

No scripts, no external styles: the page works anywhere and everything shown is escaped.
"""

from __future__ import annotations

from html import escape

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;
line-height:1.5;color:#1a1a1a}
label{display:block;margin-top:1rem;font-weight:600}
input,textarea{width:100%;box-sizing:border-box;padding:.5rem;font:inherit;
border:1px solid #767676;border-radius:4px}
textarea{min-height:8rem}
button{margin-top:1.5rem;padding:.6rem 1.4rem;font:inherit;cursor:pointer}
.hint{color:#444;font-size:.9rem}
.trap{position:absolute;left:-10000px;top:auto;width:1px;height:1px;overflow:hidden}
"""


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )


def form_page(title: str, action: str, honeypot_field: str) -> str:
    """The contact form. The honeypot is off-screen and out of the tab order, so people
    never fill it and screen readers skip it; bots filling every field give themselves away.
    """
    trap = escape(honeypot_field)
    return _page(
        title,
        f"<h1>{escape(title)}</h1>"
        f'<form method="post" action="{escape(action)}" enctype="multipart/form-data">'
        '<p class="hint" id="contact-hint">Give an email address or a phone number '
        "so we can answer you.</p>"
        '<label for="f-name">Name</label>'
        '<input id="f-name" name="name" autocomplete="name" maxlength="300">'
        '<label for="f-email">Email</label>'
        '<input id="f-email" name="email" type="email" autocomplete="email" '
        'aria-describedby="contact-hint" maxlength="320">'
        '<label for="f-phone">Phone</label>'
        '<input id="f-phone" name="phone" type="tel" autocomplete="tel" '
        'aria-describedby="contact-hint" maxlength="40">'
        '<label for="f-subject">Subject</label>'
        '<input id="f-subject" name="subject" maxlength="500">'
        '<label for="f-message">Message</label>'
        '<textarea id="f-message" name="message" required></textarea>'
        '<label for="f-file">Attach a file (optional)</label>'
        '<input id="f-file" name="file" type="file">'
        f'<div class="trap" aria-hidden="true"><label for="f-{trap}">Leave this empty</label>'
        f'<input id="f-{trap}" name="{trap}" tabindex="-1" autocomplete="off"></div>'
        '<button type="submit">Send</button>'
        "</form>",
    )


def thanks_page(title: str) -> str:
    return _page(
        title,
        "<h1>Thank you</h1><p>We have your message and will get back to you soon.</p>",
    )


def refusal_page(title: str, reason: str, back: str | None = None) -> str:
    link = f'<p><a href="{escape(back)}">Back to the form</a></p>' if back else ""
    return _page(
        title,
        f'<h1>We could not send your message</h1><p role="alert">{escape(reason)}</p>{link}',
    )
