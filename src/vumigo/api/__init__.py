"""HTTP APIs: the conversation HTTP API, contacts/opt-outs/metrics REST and JSON-RPC."""
