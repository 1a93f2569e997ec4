"""Tickets: the store (load, save, views), the queue and search, the work agents do on a
ticket (reply, note, field changes, callbacks), ticket actions (take, merge, split), intake of a
new contact into a ticket, attachments, and agent-started conversations."""
