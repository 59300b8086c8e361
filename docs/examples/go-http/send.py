"""Send a message with go-http's HttpApiSender (pip install go-http)."""

import os

from go_http.send import HttpApiSender

sender = HttpApiSender(
    account_key=os.environ["ACCOUNT_KEY"],
    conversation_key=os.environ["CONVERSATION_KEY"],
    conversation_token=os.environ["CONVERSATION_TOKEN"],
    # The platform's HTTP API; go-http's default is the original hosted service.
    api_url=os.environ["BASE_URL"] + "/api/v1/go/http_api_nostream",
)
message = sender.send_text("+27820000021", "Your order has shipped.")
# Keep the id: the message's events (ack, delivery_report) quote it as user_message_id.
print("sent", message["message_id"], "to", message["to_addr"])
