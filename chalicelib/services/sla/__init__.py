"""Service levels: business calendars and durations, SLA policies and where they are stored,
the rules of a ticket's timer map, the Step Functions timers that enforce them, and escalation."""
