"""A minimal receiver for pushed messages and events: prints each one as it arrives.

Run it with `python3 push_receiver.py` (PORT sets the port, default 8080) somewhere the
platform can reach, and set its URL as the conversation's push URLs (push-urls.sh).
"""

import json
import os
from http.server import BaseHTTPRequestHandler, HTTPServer


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        item = json.loads(body)
        # Messages arrive on /messages, events on /events (the URLs set for them).
        if item["message_type"] == "event":
            print("event", item["event_type"], "for", item["user_message_id"], flush=True)
        else:
            print(
                "message",
                item["message_id"],
                "from",
                item["from_addr"],
                ":",
                item["content"],
                flush=True,
            )
        # Any 2xx answer means "delivered"; a 5xx or no answer has it pushed again later.
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep the output to the messages themselves


port = int(os.environ.get("PORT", "8080"))
print("listening on port", port, flush=True)
HTTPServer(("127.0.0.1", port), Receiver).serve_forever()
