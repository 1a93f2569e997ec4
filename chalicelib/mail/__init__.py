"""Inbound email, without AWS: parse raw MIME, render and sanitise HTML, find the new reply text, spot automatic mail."""
