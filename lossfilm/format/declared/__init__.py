"""Every input declared once: the kinds of value (one check, one limit, one wording each) and the Option declaration."""
