"""An echo agent and a marking sandbox: a taskyard plug-in kept in one package."""
