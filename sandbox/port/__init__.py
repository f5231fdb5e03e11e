"""Local stand-in for Port: validates entities against blueprints the way Port does."""
