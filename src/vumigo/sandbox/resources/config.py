"""The ``config`` resource: read-only access to the conversation's app config.

The app config is a set of keys, each holding a string, kept with the conversation
(``vumigo jsbox set-config``, or the conversation's page). Key ``config`` holds the app's JSON
config as a *string*: the toolkit parses it and needs at least ``name`` in it.
``translation.<lang>`` holds a Jed translation as a JSON string, and ``reports`` the
conversation's dashboard (reports.json). Any other key is the app's to use. (In Vumi Go this was
``conversation.config.jsbox_app_config``, ``{key: {"value": <string>, "source_url": ...}}``;
the engine hands the run the values.)
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
