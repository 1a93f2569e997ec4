"""Customers: normalised identities (email, E.164 phone), find-or-create on intake, and the
agent-facing profile: read, edit, merge and unmerge."""
