"""The support team: agents and roles, the audit log, departments, routing rules and
round-robin assignment."""
