"""Contact forms: a form on the company's site posts here; the answer page and its body rules."""
