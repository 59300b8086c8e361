#!/usr/bin/env bash
# The contacts API: create a contact, find it by its number, change it, put it in a smart
# group and list the group. Needs BASE_URL and API_TOKEN (an API token of the account).
set -euo pipefail

API="$BASE_URL/api/v1/go"
AUTH="Authorization: Bearer $API_TOKEN"
JSON="Content-Type: application/json"
key() { python3 -c 'import json, sys; print(json.load(sys.stdin)["key"])'; }

# Create: the answer is the whole contact, with the key the platform gave it.
CONTACT=$(curl -sS -X POST -H "$AUTH" -H "$JSON" \
    -d '{"msisdn": "+27820000031", "name": "Lerato", "extra": {"city": "Polokwane"}}' \
    "$API/contacts/" | key)

# Find a contact by an address field (msisdn, twitter_handle, ...): ?query=field=value,
# URL-encoded. The answer is a page holding the one contact.
curl -sS -H "$AUTH" "$API/contacts/?query=msisdn%3D%2B27820000031"
echo

# Change some fields: PUT sends only what changes (extra, when sent, replaces all extras).
curl -sS -X PUT -H "$AUTH" -H "$JSON" -d '{"surname": "Dlamini"}' "$API/contacts/$CONTACT"
echo

# A smart group: its members are the contacts its query matches.
GROUP=$(curl -sS -X POST -H "$AUTH" -H "$JSON" \
    -d '{"name": "Polokwane", "query": "extras-city:Polokwane"}' "$API/groups/" | key)
curl -sS -H "$AUTH" "$API/groups/$GROUP/contacts"
echo
