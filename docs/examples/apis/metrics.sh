#!/usr/bin/env bash
# The metrics API: fire values into a store of the account, then read them back per hour.
# A metric's path is stores.<store>.<name>.<aggregator>. Needs BASE_URL and API_TOKEN.
set -euo pipefail

METRICS="$BASE_URL/api/v1/go/metrics/"
AUTH="Authorization: Bearer $API_TOKEN"

curl -sS -X POST -H "$AUTH" -H "Content-Type: application/json" \
    -d '{"stores.default.signups.sum": 3}' "$METRICS"
echo
curl -sS -G -H "$AUTH" "$METRICS" \
    --data-urlencode "m=stores.default.signups.sum" \
    --data-urlencode "from=-1h" --data-urlencode "interval=1hour" \
    --data-urlencode "nulls=omit"
echo
