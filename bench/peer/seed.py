"""Migrate the peer's SQLite database and create its bench user, API token and queue.

Run as `.venv-peer/bin/python seed.py` in bench/peer with PEER_STATE_DIR set; prints JSON
{"token", "queue"}."""
import json
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peersite.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from helpdesk.models import Queue  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402


def main() -> None:
    call_command("migrate", interactive=False, verbosity=0)
    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"email": "bench@peer.local", "is_staff": True,
                                    "is_superuser": True})
    user.set_unusable_password()
    user.save()
    token, _ = Token.objects.get_or_create(user=user)
    queue, _ = Queue.objects.get_or_create(
        slug="general", defaults={"title": "General", "email_address": "support@peer.local",
                                  "allow_public_submission": True})
    json.dump({"token": token.key, "queue": queue.id}, sys.stdout)


if __name__ == "__main__":
    main()
