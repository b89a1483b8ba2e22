"""Where a task's workspace lives on this worker."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from taskyard.config import Settings
from taskyard.engine.home import mark_path
from taskyard.forges.base import git_remote
from taskyard.model.forge import ForgeSite, GitRemote
from taskyard.workspaces.repos import mirror_objects


@dataclass(frozen=True)
class Workspace:
    """A task's directories on this worker, named ``<org id>/<key>`` under their parents."""

    remote: GitRemote  # where git reaches its repository: the mirror is made from it
    checkout: Path
    home: Path
    shared_objects: Path  # its repository's mirror objects, from the server's own records
    mark: Path  # what the checkout holds (see taskyard.engine.home), outside every sandbox

    @classmethod
    def of(
        cls, settings: Settings, workspace_name: str, site: ForgeSite, repository: str
    ) -> Workspace:
        remote = git_remote(site, repository, settings)
        return cls(
            remote=remote,
            checkout=settings.checkouts_dir / workspace_name,
            home=settings.data_dir / "homes" / workspace_name,
            shared_objects=mirror_objects(remote, settings),
            mark=mark_path(settings, workspace_name),
        )
