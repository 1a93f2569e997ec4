"""`setu`: the admin command line (setu_cli/main.py). Not part of the Lambda package: Chalice
ships only app.py and chalicelib/, and app.py never imports this."""
