"""The opt-outs API with go-http's OptOutsApiClient.

go-http 0.3.2 was written for Python 2: its opt-outs client calls urllib.quote, which Python 3
has as urllib.parse.quote. The two lines after the imports give it that.
"""

import os
import types
import urllib.parse

import go_http.optouts
from go_http.optouts import OptOutsApiClient

go_http.optouts.urllib = types.SimpleNamespace(quote=urllib.parse.quote)

optouts = OptOutsApiClient(os.environ["API_TOKEN"], api_url=os.environ["BASE_URL"] + "/api/v1/go")

optouts.set_optout("msisdn", "+27820000052")
print("opted out:", optouts.get_optout("msisdn", "+27820000052") is not None)
print("count:", optouts.count())
optouts.delete_optout("msisdn", "+27820000052")
print("after delete:", optouts.get_optout("msisdn", "+27820000052"))
