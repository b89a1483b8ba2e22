"""taskyard: run AI coding agents on units of work.

The Python SDK is the public API of this package::

    from taskyard import Client
    Client().tasks.create_and_run(team="web", title="Fix checkout", repository="acme/shop")
"""

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

from taskyard.sdk import Client, TaskyardAPIError, TaskyardConnectionError

if TYPE_CHECKING:
    from taskyard.sdk import AsyncClient


def __getattr__(name: str) -> Any:
    if name == "AsyncClient":  # loaded on first use, as in taskyard.sdk
        from taskyard.sdk import AsyncClient

        return AsyncClient
    raise AttributeError(f"module 'taskyard' has no attribute {name!r}")


__all__ = ["AsyncClient", "Client", "TaskyardAPIError", "TaskyardConnectionError", "__version__"]
