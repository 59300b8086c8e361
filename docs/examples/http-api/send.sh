#!/usr/bin/env bash
# Send a message through an HTTP API conversation. Needs BASE_URL, ACCOUNT_KEY,
# CONVERSATION_KEY and CONVERSATION_TOKEN.
set -euo pipefail

curl -sS -X PUT --user "$ACCOUNT_KEY:$CONVERSATION_TOKEN" \
    -H "Content-Type: application/json" \
    -d '{"to_addr": "+27820000020", "content": "Your order has shipped."}' \
    "$BASE_URL/api/v1/go/http_api_nostream/$CONVERSATION_KEY/messages.json"
echo
