"""Port Ocean integration for Spacelift."""
