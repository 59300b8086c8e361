"""Reply to an inbound message with go-http: HttpApiSender has no reply method, but a PUT
with in_reply_to is a reply, and _raw_send PUTs any body you give it."""

import os

from go_http.send import HttpApiSender

sender = HttpApiSender(
    os.environ["ACCOUNT_KEY"],
    os.environ["CONVERSATION_KEY"],
    os.environ["CONVERSATION_TOKEN"],
    api_url=os.environ["BASE_URL"] + "/api/v1/go/http_api_nostream",
)
reply = sender._raw_send({"in_reply_to": os.environ["IN_REPLY_TO"], "content": "Thanks, got it!"})
print("replied to", reply["to_addr"], "with", reply["message_id"])
