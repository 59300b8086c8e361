#!/usr/bin/env bash
# Receive inbound messages as a stream: one JSON message per line, for as long as the
# connection stays open (-N: print each line as it comes). Messages that arrived while no
# client was connected come first. Only for conversations of type http_api without a push URL.
set -euo pipefail

curl -sS -N --user "$ACCOUNT_KEY:$CONVERSATION_TOKEN" \
    "$BASE_URL/api/v1/go/http_api/$CONVERSATION_KEY/messages.json"
