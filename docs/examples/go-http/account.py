"""The JSON-RPC account API with go-http's AccountApiClient: what is routed to what."""

import os

from go_http.account import AccountApiClient

account = AccountApiClient(os.environ["API_TOKEN"], api_url=os.environ["BASE_URL"] + "/api/v1/go")

(campaign,) = account.campaigns()  # the account itself
table = account.routing_table(campaign["key"])
names = {c["uuid"]: c["name"] for c in table["conversations"]}
for entry in table["routing_entries"]:
    source, target = entry["source"]["uuid"], entry["target"]["uuid"]
    print(source, "->", target)
print(len(names), "conversations")
