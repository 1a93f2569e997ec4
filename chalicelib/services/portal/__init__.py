"""What customers see without signing in: the web form's validation and the ticket status page."""
