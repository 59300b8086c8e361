"""Fire a metric value with go-http; it shows on dashboards of the same metric store."""

import os

from go_http.send import HttpApiSender

sender = HttpApiSender(
    os.environ["ACCOUNT_KEY"],
    os.environ["CONVERSATION_KEY"],
    os.environ["CONVERSATION_TOKEN"],
    api_url=os.environ["BASE_URL"] + "/api/v1/go/http_api_nostream",
)
print(sender.fire_metric("total_pings", 1250, agg="max"))
