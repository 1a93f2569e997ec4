"""What admins and leads write: macros, per-department acknowledgement templates, and the
sandbox every such template renders in."""
