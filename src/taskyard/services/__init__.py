"""Business logic: every route, CLI command and activity goes through these functions."""
