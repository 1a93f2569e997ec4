"""Inbound contacts and provider events: email (with threading) and SMS into tickets, SES and
SMS delivery events, and the record of notifications that could not be understood; each applied
exactly once."""
