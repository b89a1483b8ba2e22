"""Forges: where branches are pushed and pull requests opened (GitHub, or local)."""
