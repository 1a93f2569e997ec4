"""Outbound messages: composing (the one acknowledgement composer, the one channel-choice
rule), dispatch through the outbox, channel fallback, suppression and opt-outs, templates, SMS
text rules, and the signed links messages carry."""
