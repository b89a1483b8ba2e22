"""Workspaces: repository mirrors, per-task checkouts and sandbox providers."""
