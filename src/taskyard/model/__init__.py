"""The ground floor: the words every layer shares. Imports nothing else of taskyard."""
