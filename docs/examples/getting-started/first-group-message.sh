#!/usr/bin/env bash
# Send one message to a group: import contacts into a group, then run a Group Message
# conversation's send action. Needs ACCOUNT_KEY, API_TOKEN and BASE_URL.
set -euo pipefail

# contacts.csv has a header row (msisdn,name,city); "city" becomes the extra "city".
vumigo contacts import --account "$ACCOUNT_KEY" --group Friends contacts.csv

CHANNEL=$(vumigo channel acquire --account "$ACCOUNT_KEY" --pool dev)
CONV=$(vumigo conversation create --account "$ACCOUNT_KEY" --type bulk_message \
    --name "Hello friends")
vumigo conversation groups "$CONV" --add Friends
vumigo routing add --account "$ACCOUNT_KEY" \
    "CONVERSATION:bulk_message:$CONV" default "TRANSPORT_TAG:$CHANNEL" default
vumigo routing add --account "$ACCOUNT_KEY" \
    "TRANSPORT_TAG:$CHANNEL" default "CONVERSATION:bulk_message:$CONV" default
vumigo conversation start "$CONV"

# The send runs in the platform (vumigo serve must be running); --yes confirms it.
vumigo conversation action "$CONV" bulk_send --param message="Hello from Vumi Go" --yes

# What the developer phone channel sent, waiting up to 10 s for the first messages.
curl -sS -H "Authorization: Bearer $API_TOKEN" \
    "$BASE_URL/api/v1/dev/${CHANNEL/://}/outbound?wait=10"
echo
