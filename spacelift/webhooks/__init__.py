"""Live events: Spacelift webhook processors on one static path, ``/webhook``."""

WEBHOOK_PATH = "/webhook"
