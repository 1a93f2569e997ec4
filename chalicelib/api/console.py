"""The console's front door: every IAM route (/api/...) again under /console/api/..., with the
same view function, behind API Gateway's Cognito authorizer (docs/console.md, "How people sign
in"). API Gateway allows one authorizer per method, so people (Cognito ID tokens) and machines
(SigV4) need a path each; nothing else is duplicated: the handler, its services, and the role,
scope and audit checks (api/auth.py tells the two kinds of caller apart) are the same.

The pool's ARN is unknown when the app is imported: Chalice writes POOL_PLACEHOLDER into the
packaged OpenAPI definition and infra/lambda.yaml points the authorizer at the template's
ConsoleUserPool. No AWS calls."""
from __future__ import annotations

from chalice import CognitoUserPoolAuthorizer, IAMAuthorizer
from chalice.app import RouteEntry

PREFIX = "/console"
AUTHORIZER_NAME = "console"
POOL_PLACEHOLDER = "arn:aws:cognito-idp:us-east-1:000000000000:userpool/us-east-1_placeholder"
cognito = CognitoUserPoolAuthorizer(AUTHORIZER_NAME, provider_arns=[POOL_PLACEHOLDER])


def is_console_path(resource_path: str) -> bool:
    return resource_path.startswith(PREFIX + "/api/")


def mirror(app) -> int:
    """Register every IAM-authorised /api/... route of `app` under /console/api/... with the
    Cognito authorizer. Call once, after the blueprints. Returns the number of methods added."""
    added = 0
    for path, methods in list(app.routes.items()):
        if not path.startswith("/api/"):
            continue
        for method, entry in methods.items():
            if not isinstance(entry.authorizer, IAMAuthorizer):
                continue
            app.routes[PREFIX + path][method] = RouteEntry(
                entry.view_function, entry.view_name, PREFIX + path, method,
                api_key_required=entry.api_key_required, content_types=entry.content_types,
                cors=entry.cors, authorizer=cognito)
            added += 1
    return added
