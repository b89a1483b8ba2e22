"""Reading a delivery: the phrase as a whole word, path globs, the pushed files."""

from __future__ import annotations

import pytest

from taskyard.model.github import GitHubEvent
from taskyard.services.github_subject import instruction_of, matches, phrase_at, subject_of
from tests.support.github.webhooks import adjust, example_payload


@pytest.mark.parametrize(
    ("comment", "found"),
    [
        ("/taskyard fix the login", True),
        ("Please /taskyard: fix it", True),
        ("can you\n/TaskYard fix it", True),
        ("/taskyards fix it", False),
        ("see https://example.com/taskyard fix", False),
        ("a/taskyard b", False),
        ("/taskyard-bot fix", False),
        ("taskyard fix", False),
    ],
)
def test_the_phrase_counts_only_as_a_whole_word(comment: str, found: bool) -> None:
    assert (phrase_at(comment, "/taskyard") is not None) is found


def test_the_rest_of_the_comment_is_the_instruction() -> None:
    assert instruction_of("/taskyard add a dark mode", "/taskyard") == "add a dark mode"
    assert instruction_of("Hi!\n/taskyard\nadd tests", "/taskyard") == "Hi!\n\nadd tests"
    assert instruction_of("Please /taskyard fix it", "/taskyard") == "Please fix it"
    assert instruction_of("Thanks!\n/taskyard fix it", "/taskyard") == "Thanks!\nfix it"
    assert instruction_of("no phrase", "/taskyard") == ""


@pytest.mark.parametrize(
    ("globs", "path", "hit"),
    [
        (["docs/**"], "docs/a/b.md", True),
        (["docs/**"], "src/docs/a.md", False),
        (["*.md"], "README.md", True),
        (["*.md"], "docs/guide.md", True),  # no slash: any directory, as in .gitignore
        (["src/*.py"], "src/a.py", True),
        (["src/*.py"], "src/pkg/a.py", False),
        (["src/**/*.py"], "src/a.py", True),
        (["src/**/*.py"], "src/pkg/deep/a.py", True),
        (["api/"], "api/routes/x.py", True),
        (["file?.txt"], "file1.txt", True),
        (["file[!0-9].txt"], "file1.txt", False),
        (["file[0-9].txt"], "file1.txt", True),
        (["a.b"], "axb", False),  # a dot is a dot
    ],
)
def test_path_globs(globs: list[str], path: str, hit: bool) -> None:
    assert matches(globs, path) is hit


def test_a_push_names_its_branch_and_every_changed_file_once() -> None:
    payload = example_payload("push", None, where=lambda p: p["ref"] == "refs/heads/master")
    payload = adjust(payload, repository="acme/shop")
    payload["commits"] = [
        {"added": ["a.py"], "modified": ["docs/x.md"], "removed": []},
        {"added": [], "modified": ["a.py"], "removed": ["old.txt"]},
    ]
    subject = subject_of(GitHubEvent("d1", "push", "", payload))
    assert subject is not None
    assert (subject.kind, subject.ref, subject.thread) == (
        "push",
        "refs/heads/master",
        "github:acme/shop@refs/heads/master",
    )
    assert subject.changed == ("a.py", "docs/x.md", "old.txt")


def test_tags_and_deleted_branches_are_no_subject() -> None:
    tag = example_payload("push", None)
    assert tag["ref"].startswith("refs/tags/")
    assert subject_of(GitHubEvent("d2", "push", "", tag)) is None
    deleted = {**example_payload("push", None, where=lambda p: p["ref"] == "refs/heads/master")}
    deleted["deleted"] = True
    assert subject_of(GitHubEvent("d3", "push", "", deleted)) is None


def test_a_comment_on_a_pull_request_is_about_the_pull_request() -> None:
    payload = example_payload("issue_comment", "created")
    payload["issue"]["pull_request"] = {"url": "https://api.github.com/x"}
    subject = subject_of(GitHubEvent("d4", "issue_comment", "created", payload))
    assert subject is not None and subject.kind == "pull request"
    assert subject.thread == f"github:Codertocat/Hello-World#{payload['issue']['number']}"
