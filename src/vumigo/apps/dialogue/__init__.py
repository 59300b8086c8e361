"""The dialogue conversation type: poll JSON, its state machine, and the app that runs it."""

from vumigo.apps.dialogue.app import DialogueApp
from vumigo.apps.dialogue.poll import Poll, PollError, parse_poll

__all__ = ["DialogueApp", "Poll", "PollError", "parse_poll"]
