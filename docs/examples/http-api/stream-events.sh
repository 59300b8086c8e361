#!/usr/bin/env bash
# Receive the events of the messages you sent (ack, nack, delivery_report) as a stream.
set -euo pipefail

curl -sS -N --user "$ACCOUNT_KEY:$CONVERSATION_TOKEN" \
    "$BASE_URL/api/v1/go/http_api/$CONVERSATION_KEY/events.json"
