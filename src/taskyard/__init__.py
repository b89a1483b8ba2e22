"""taskyard: run AI coding agents on units of work.

The Python SDK is the public API of this package::

    from taskyard import Client
    Client().tasks.create_and_run(team="web", title="Fix checkout", repository="acme/shop")
"""

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from taskyard.sdk import AsyncClient, Client, TaskyardAPIError, TaskyardConnectionError

_SDK = {"AsyncClient", "Client", "TaskyardAPIError", "TaskyardConnectionError"}


def __getattr__(name: str) -> Any:
    # Loaded on first use: the server and the command line import this package
    # without needing the SDK (and its HTTP client) right away.
    if name in _SDK:
        from taskyard import sdk

        return getattr(sdk, name)
    raise AttributeError(f"module 'taskyard' has no attribute {name!r}")


__all__ = ["AsyncClient", "Client", "TaskyardAPIError", "TaskyardConnectionError", "__version__"]
