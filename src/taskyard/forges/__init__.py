"""Forges: where branches are pushed and pull requests opened (GitHub, or local).

Each forge is one module owning its kind, remote URLs, credentials and pull request
wording; all are found by kind in :data:`taskyard.forges.base.FORGES`.
"""
