"""taskyard: run AI coding agents on units of work.

The Python SDK is the public API of this package::

    from taskyard import Client
    Client().tasks.create_and_run(team="web", title="Fix checkout", repository="acme/shop")
"""

__version__ = "0.1.0"

from taskyard.sdk import AsyncClient, Client, TaskyardAPIError, TaskyardConnectionError

__all__ = ["AsyncClient", "Client", "TaskyardAPIError", "TaskyardConnectionError", "__version__"]
