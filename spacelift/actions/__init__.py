"""Port self-service actions executed by the integration (Ocean's action executors)."""
