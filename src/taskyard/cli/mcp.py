"""``taskyard mcp``: serve taskyard's tools to a person's assistant over stdio."""

from __future__ import annotations

import contextlib
import logging
import sys

import click

from taskyard.mcp import serve
from taskyard.sdk import Client


@click.command()
@click.option(
    "--url",
    envvar="TASKYARD_URL",
    metavar="URL",
    help="Server URL [TASKYARD_URL; default http://127.0.0.1:8420].",
)
@click.option(
    "--token", envvar="TASKYARD_TOKEN", metavar="TOKEN", help="API token [TASKYARD_TOKEN]."
)
def mcp(url: str | None, token: str | None) -> None:
    """Serve taskyard to an AI assistant as an MCP server on stdin/stdout.

    Your assistant (Claude Code, Claude Desktop, Codex, ...) starts this command and
    calls its tools: create_task, wait_task, list_tasks, show_task, task_events, task_diff,
    send_message, approve, request_changes, start_task and cancel_task. Each is one API
    call made with your token. See docs/mcp.md for the configuration.
    """
    # stdout carries the protocol and nothing else: logs (tool failures) go to stderr.
    logging.basicConfig(
        stream=sys.stderr, level=logging.WARNING, format="taskyard mcp: %(levelname)s %(message)s"
    )
    # The assistant stops its server with a signal or by hanging up: an end, not an error.
    with Client(url, token) as client, contextlib.suppress(KeyboardInterrupt, BrokenPipeError):
        serve(client)
