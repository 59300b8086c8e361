#!/usr/bin/env bash
# What a send to an opted-out number looks like: opt +27820000029 out with the opt-outs API
# (API_TOKEN), then try to send to it. The send is refused with 400 and a reason; replies to
# that number's own messages would still go through.
set -euo pipefail

curl -sS -X PUT -H "Authorization: Bearer $API_TOKEN" \
    "$BASE_URL/api/v1/go/optouts/msisdn/%2B27820000029"
echo
curl -sS -X PUT --user "$ACCOUNT_KEY:$CONVERSATION_TOKEN" \
    -H "Content-Type: application/json" \
    -d '{"to_addr": "+27820000029", "content": "Hello?"}' \
    -w '\nHTTP status %{http_code}\n' \
    "$BASE_URL/api/v1/go/http_api_nostream/$CONVERSATION_KEY/messages.json"
