#!/usr/bin/env bash
# Reply to an inbound message: IN_REPLY_TO is its message_id, as it was pushed or streamed
# to you. A reply goes to the sender, on the channel and in the session it came from.
set -euo pipefail

curl -sS -X PUT --user "$ACCOUNT_KEY:$CONVERSATION_TOKEN" \
    -H "Content-Type: application/json" \
    -d "{\"in_reply_to\": \"$IN_REPLY_TO\", \"content\": \"Thanks, got it!\", \"session_event\": \"close\"}" \
    "$BASE_URL/api/v1/go/http_api_nostream/$CONVERSATION_KEY/messages.json"
echo
