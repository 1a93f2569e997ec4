"""The support team: agents and roles, the audit log, departments (as data, admin-edited), routing rules and
round-robin assignment."""
