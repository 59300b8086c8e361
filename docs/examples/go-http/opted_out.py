"""go-http raises UserOptedOutException when the recipient has opted out."""

import os

from go_http.exceptions import UserOptedOutException
from go_http.send import HttpApiSender

sender = HttpApiSender(
    os.environ["ACCOUNT_KEY"],
    os.environ["CONVERSATION_KEY"],
    os.environ["CONVERSATION_TOKEN"],
    api_url=os.environ["BASE_URL"] + "/api/v1/go/http_api_nostream",
)
try:
    sender.send_text("+27820000029", "Hello?")
except UserOptedOutException as refused:
    print("not sent to", refused.to_addr, "-", refused.reason)
