#!/usr/bin/env bash
# Fire metrics: a list of [name, value, aggregator] (sum, avg, max, min or last). They go to
# the conversation's metric store ("default" unless `vumigo http-api set --metric-store`).
set -euo pipefail

curl -sS -X PUT --user "$ACCOUNT_KEY:$CONVERSATION_TOKEN" \
    -H "Content-Type: application/json" \
    -d '[["total_pings", 1200, "max"], ["orders", 3, "sum"]]' \
    "$BASE_URL/api/v1/go/http_api_nostream/$CONVERSATION_KEY/metrics.json"
echo
