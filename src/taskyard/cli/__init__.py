"""The ``taskyard`` command line: the server processes and a client of the REST API."""
