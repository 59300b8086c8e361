#!/usr/bin/env bash
# Connect your own system to the platform: an HTTP API conversation with a token, sending a
# message to a developer phone number. Needs ACCOUNT_KEY and BASE_URL.
set -euo pipefail

CHANNEL=$(vumigo channel acquire --account "$ACCOUNT_KEY" --pool dev)

# An HTTP API conversation (push only: no streaming) and a token for it, shown only now.
CONV=$(vumigo conversation create --account "$ACCOUNT_KEY" --type http_api_nostream \
    --name "My system")
CONV_TOKEN=$(vumigo http-api token create "$CONV")
vumigo routing add --account "$ACCOUNT_KEY" \
    "TRANSPORT_TAG:$CHANNEL" default "CONVERSATION:http_api_nostream:$CONV" default
vumigo routing add --account "$ACCOUNT_KEY" \
    "CONVERSATION:http_api_nostream:$CONV" default "TRANSPORT_TAG:$CHANNEL" default
vumigo conversation start "$CONV"

# Send: HTTP Basic auth with the account key and the conversation's token. The answer is
# the message as sent, with the message_id its events will quote.
curl -sS -X PUT --user "$ACCOUNT_KEY:$CONV_TOKEN" \
    -H "Content-Type: application/json" \
    -d '{"to_addr": "+27820000003", "content": "Hello from my system"}' \
    "$BASE_URL/api/v1/go/http_api_nostream/$CONV/messages.json"
echo
