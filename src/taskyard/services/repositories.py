"""What a task may name as its repository and its base branch.

A local path lets whoever creates tasks make the server read that directory, so
only paths under ``TASKYARD_LOCAL_REPOSITORY_ROOTS`` are accepted (none by default).
A branch name reaches ``git`` as an argument: it must be a valid ref name, and one
that cannot be read as an option.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from taskyard.model.errors import InvalidInput

# owner/name as GitHub spells them: never '-' first, and a name is never '.' or '..'.
REPO_SLUG = re.compile(
    r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}/(?!\.\.?$)[A-Za-z0-9_.][A-Za-z0-9_.-]{0,99}$"
)
# What `git check-ref-format` refuses in any part of a name.
REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//")


def local_path(repository: str) -> str | None:
    """The path a repository names on this machine (an absolute path or a file:// URL),
    or None for a name on a forge (``org/repo``)."""
    path = repository.removeprefix("file://")
    return path if path.startswith("/") else None


def validate_repository(repository: str, roots: Sequence[Path]) -> str:
    """``org/repo``, or a local git repository (absolute path or file:// URL) under ``roots``."""
    repository = repository.strip()
    if REPO_SLUG.match(repository):
        return repository
    path = local_path(repository)
    if path is None:
        raise InvalidInput(
            f"Repository '{repository}' must be 'org/repo', or an absolute path or file:// URL "
            "of a local git repository."
        )
    # The setting is named in the details too, for a client (the quickstart) to say how
    # to set it rather than match words.
    setting = {"setting": "TASKYARD_LOCAL_REPOSITORY_ROOTS"}
    if not roots:
        raise InvalidInput(
            "Local repositories are turned off on this server "
            "(TASKYARD_LOCAL_REPOSITORY_ROOTS is empty); use 'org/repo'.",
            details=setting,
        )
    # Resolved first, so neither '..' nor a symbolic link leads out of a root.
    resolved = Path(path).resolve()
    if not any(resolved.is_relative_to(root.resolve()) for root in roots):
        raise InvalidInput(
            f"Repository path '{path}' is outside the directories this server allows "
            "(TASKYARD_LOCAL_REPOSITORY_ROOTS).",
            details=setting,
        )
    if not resolved.is_dir():
        raise InvalidInput(f"Repository path '{path}' does not exist or is not a directory.")
    return repository


def validate_branch(name: str) -> str:
    """A branch name as ``git check-ref-format --branch`` takes it, never option-like.

    Empty means the repository's default branch.
    """
    if not name:
        return name
    problem = _ref_problem(name)
    if problem:
        raise InvalidInput(f"Base branch '{name}' is not a valid git branch name: {problem}.")
    return name


def _ref_problem(name: str) -> str | None:
    if name.startswith("-"):
        return "it must not start with '-'"
    if name == "@":
        return "'@' alone is not a branch"
    if REF_FORBIDDEN.search(name):
        return "no spaces, control characters, '..', '//', '@{' or any of ~ ^ : ? * [ \\"
    if name.startswith("/") or name.endswith("/") or name.endswith("."):
        return "it must not start or end with '/', nor end with '.'"
    for part in name.split("/"):
        if part.startswith("."):
            return "no part may start with '.'"
        if part.endswith(".lock"):
            return "no part may end with '.lock'"
    return None
