#!/usr/bin/env bash
# The opt-outs API: opt an address out, look it up, count, and opt it back in. Addresses go
# in the path URL-encoded (+ is %2B). Needs BASE_URL and API_TOKEN.
set -euo pipefail

OPTOUTS="$BASE_URL/api/v1/go/optouts"
AUTH="Authorization: Bearer $API_TOKEN"

curl -sS -X PUT -H "$AUTH" "$OPTOUTS/msisdn/%2B27820000041"; echo
curl -sS -H "$AUTH" "$OPTOUTS/msisdn/%2B27820000041"; echo
curl -sS -H "$AUTH" "$OPTOUTS/count"; echo
curl -sS -X DELETE -H "$AUTH" "$OPTOUTS/msisdn/%2B27820000041"; echo
# Now it is not there: 404, with the reason in the body.
curl -sS -H "$AUTH" -w ' HTTP %{http_code}\n' "$OPTOUTS/msisdn/%2B27820000041"
