"""``taskyard mcp``: serve taskyard's tools to a person's assistant over stdio."""

from __future__ import annotations

import contextlib
import logging
import sys

import click

from taskyard.cli.context import server
from taskyard.sdk import Client


@click.command()
def mcp() -> None:
    """Serve taskyard to an AI assistant as an MCP server on stdin/stdout.

    Your assistant (Claude Code, Claude Desktop, Codex, ...) starts this command and
    calls its tools: create_task, wait_task, list_tasks, show_task, task_events, task_diff,
    send_message, approve, request_changes, start_task and cancel_task. Each is one API
    call made with your token (as `taskyard login` keeps it, or --url/--token). See
    docs/mcp.md for the configuration.
    """
    from taskyard.mcp.tasks import serve  # loaded only when an assistant starts this server

    # stdout carries the protocol and nothing else: logs (tool failures) go to stderr.
    logging.basicConfig(
        stream=sys.stderr, level=logging.WARNING, format="taskyard mcp: %(levelname)s %(message)s"
    )
    # The assistant stops its server with a signal or by hanging up: an end, not an error.
    with Client(*server()) as client, contextlib.suppress(KeyboardInterrupt, BrokenPipeError):
        serve(client)
