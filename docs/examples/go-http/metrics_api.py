"""The metrics API with go-http's MetricsApiClient: fire, then read back hourly values."""

import os

from go_http.metrics import MetricsApiClient

metrics = MetricsApiClient(os.environ["API_TOKEN"], api_url=os.environ["BASE_URL"] + "/api/v1/go")

print(metrics.fire({"stores.default.downloads.sum": 7}))
values = metrics.get_metric("stores.default.downloads.sum", "-1h", "1hour", "omit")
print([point["y"] for point in values["stores.default.downloads.sum"]])
