"""The ``taskyard`` command line: the server processes and a client of the REST API."""

import sys

# Wherever rich is installed, importing httpx also imports httpx's own command line
# (``httpx._main``: rich, pygments), a third of this command's start-up; it is never
# used here. A ``None`` entry makes that one import fail, which httpx expects.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
