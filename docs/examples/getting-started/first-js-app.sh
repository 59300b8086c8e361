#!/usr/bin/env bash
# Run the visit counter (../jsbox/kv_counter.js) on a developer phone channel of the demo
# account, then text it twice. Needs ACCOUNT_KEY, API_TOKEN and BASE_URL (see above).
set -euo pipefail

# A channel: a developer phone number of the account's own, e.g. dev:default10002.
CHANNEL=$(vumigo channel acquire --account "$ACCOUNT_KEY" --pool dev)

# A JavaScript app conversation, with its code and its config (the app's name is required).
CONV=$(vumigo conversation create --account "$ACCOUNT_KEY" --type jsbox --name "Visit counter")
vumigo jsbox set-code "$CONV" ../jsbox/kv_counter.js
vumigo jsbox set-config "$CONV" config --value '{"name": "visit_counter"}'

# Route the channel to the app and the app's replies back to the channel, then start it.
vumigo routing add --account "$ACCOUNT_KEY" \
    "TRANSPORT_TAG:$CHANNEL" default "CONVERSATION:jsbox:$CONV" default
vumigo routing add --account "$ACCOUNT_KEY" \
    "CONVERSATION:jsbox:$CONV" default "TRANSPORT_TAG:$CHANNEL" default
vumigo conversation start "$CONV"

# Text the channel from the developer phone's API, and print the replies.
PHONE="$BASE_URL/api/v1/dev/${CHANNEL/://}/messages"
for visitor in +27820000001 +27820000002; do
    curl -sS -H "Authorization: Bearer $API_TOKEN" -H "Content-Type: application/json" \
        -d "{\"from_addr\": \"$visitor\", \"content\": \"hi\", \"wait\": 10}" "$PHONE"
    echo
done
