"""The HTTP API conversation types (``http_api``, ``http_api_nostream``) and their machinery.

- ``apps``: the two conversation types (what they do with inbound messages and events);
- ``config``: a conversation's API settings and tokens; ``settings``: the operator's;
- ``auth``, ``sending``, ``metrics``: what the web routes (``vumigo.api.http_api``) call;
- ``outbox``, ``pusher``, ``deliveries``: push webhooks, retried from a durable outbox;
- ``stream``: the streaming backlog, hub and response; ``limiter``: open requests per account;
- ``runtime``: the per-process state the above share.
"""
