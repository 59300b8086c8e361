#!/usr/bin/env bash
# The JSON-RPC account API: the account's "campaign" (the account itself), then everything
# its routing table joins. Needs BASE_URL and API_TOKEN.
set -euo pipefail

RPC="$BASE_URL/api/v1/go/api/"
AUTH="Authorization: Bearer $API_TOKEN"
JSON="Content-Type: application/json"

curl -sS -X POST -H "$AUTH" -H "$JSON" \
    -d '{"jsonrpc": "2.0", "id": 1, "method": "campaigns", "params": []}' "$RPC"
echo
curl -sS -X POST -H "$AUTH" -H "$JSON" \
    -d "{\"jsonrpc\": \"2.0\", \"id\": 2, \"method\": \"routing_table\", \"params\": [\"$ACCOUNT_KEY\"]}" \
    "$RPC"
echo
