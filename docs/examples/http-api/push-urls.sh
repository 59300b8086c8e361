#!/usr/bin/env bash
# Have inbound messages and events pushed to your own web server (RECEIVER_URL): each one
# is POSTed there as JSON. Put user:password@ in a URL to have it sent as Basic auth.
set -euo pipefail

vumigo http-api set-url "$CONVERSATION_KEY" \
    --messages "$RECEIVER_URL/messages" \
    --events "$RECEIVER_URL/events"
vumigo http-api show "$CONVERSATION_KEY"
