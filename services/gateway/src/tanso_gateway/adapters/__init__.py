"""I/O of the gateway: the upstream services over HTTP."""
