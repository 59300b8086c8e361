"""The ``config`` resource: read-only access to the conversation's app config.

In Vumi Go the app config is ``conversation.config.jsbox_app_config``, a mapping of keys to
``{"value": <string>, "source_url": ...}``; the engine passes the values (``key -> value``) as the
run's ``app_config``. Key ``config`` holds the app's JSON config as a *string* (the toolkit parses
it); ``translation.<lang>`` holds a Jed translation as a JSON string.
"""

from __future__ import annotations

from vumigo.sandbox.resources import Reply, Request, Resource, ResourceError, command
from vumigo.sandbox.run import Run


class ConfigResource(Resource):
    """Read the conversation's app config (``jsbox_app_config``) by key."""

    name = "config"

    @command(
        "Get the value stored under a config key.",
        request={"key": "string: the config key, e.g. 'config' or 'translation.fr'"},
        reply={
            "value": "the stored value, usually a JSON string (key 'config' holds the app's JSON "
            "config as a string); null when the key is not set"
        },
        errors=("Value expected for key",),
    )
    async def get(self, request: Request, run: Run) -> Reply:
        key = request.get("key")
        if not isinstance(key, str):
            # The original replied {success: false} with no reason; a reason costs nothing.
            raise ResourceError("Value expected for key")
        return {"value": run.app_config.get(key)}
