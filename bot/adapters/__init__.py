"""The only importers of kubernetes, redis and prometheus_client: one module per library and purpose."""
