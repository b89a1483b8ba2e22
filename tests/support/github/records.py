"""What the GitHub stand-in holds: the requests it saw, what they violated, and
GitHub's objects (issues, comments with their edit history, pull requests, reviews,
check runs), which tests seed and read."""

from __future__ import annotations

import base64
import itertools
from dataclasses import dataclass, field


@dataclass
class Seen:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes = b""


@dataclass(frozen=True)
class Violation:
    """A request GitHub's description does not allow, or an answer it does not describe."""

    method: str
    path: str
    problem: str


@dataclass
class Issue:
    repository: str
    number: int
    title: str
    body: str
    user: str
    labels: list[str] = field(default_factory=list)
    state: str = "open"


@dataclass
class Comment:
    id: int
    repository: str
    issue_number: int
    body: str
    user: str
    history: list[str] = field(default_factory=list)  # earlier bodies, oldest first


@dataclass
class Pull:
    repository: str
    number: int
    title: str
    body: str
    head: str
    base: str
    head_sha: str
    user: str
    draft: bool = False
    state: str = "open"
    merged: bool = False

    @property
    def node_id(self) -> str:
        return "PR_" + base64.b64encode(f"{self.repository}#{self.number}".encode()).decode()


@dataclass
class Review:
    id: int
    repository: str
    pull_number: int
    user: str
    state: str  # APPROVED, CHANGES_REQUESTED, COMMENTED
    body: str


@dataclass
class ReviewComment:
    id: int
    repository: str
    pull_number: int
    user: str
    body: str
    path: str
    line: int
    review_id: int = 0  # the review it was submitted with (a single comment has its own)
    updated_at: str = ""  # when last saved; the description's example time when empty


@dataclass
class CheckRun:
    id: int  # for GitHub Actions, also the job's id: its log is the job's log
    repository: str
    head_sha: str
    name: str
    conclusion: str | None  # None while it runs
    log: str = ""


@dataclass
class Records:
    requests: list[Seen] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    pulls: list[Pull] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    review_comments: list[ReviewComment] = field(default_factory=list)
    check_runs: list[CheckRun] = field(default_factory=list)
    # (repository, login) -> role: admin, maintain, write, triage, read or none; None: GitHub
    # answers 404, as it does for a login it does not know
    permissions: dict[tuple[str, str], str | None] = field(default_factory=dict)
    users: dict[int, str] = field(default_factory=dict)  # id -> login
    installation_tokens: list[str] = field(default_factory=list)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1001))

    def next_number(self, repository: str) -> int:
        """Issues and pull requests share one sequence per repository, as on GitHub."""
        taken = [i.number for i in self.issues if i.repository == repository]
        taken += [p.number for p in self.pulls if p.repository == repository]
        return max(taken, default=0) + 1

    def issue(self, repository: str, number: int) -> Issue | None:
        return next(
            (i for i in self.issues if (i.repository, i.number) == (repository, number)), None
        )

    def pull(self, repository: str, number: int) -> Pull | None:
        return next(
            (p for p in self.pulls if (p.repository, p.number) == (repository, number)), None
        )

    def add_issue(
        self,
        repository: str,
        title: str,
        body: str = "",
        user: str = "octocat",
        labels: list[str] | None = None,
    ) -> Issue:
        issue = Issue(repository, self.next_number(repository), title, body, user, labels or [])
        self.issues.append(issue)
        return issue

    def add_comment(self, repository: str, issue_number: int, body: str, user: str) -> Comment:
        comment = Comment(next(self.ids), repository, issue_number, body, user)
        self.comments.append(comment)
        return comment

    def add_review(
        self, repository: str, pull_number: int, user: str, state: str, body: str = ""
    ) -> Review:
        review = Review(next(self.ids), repository, pull_number, user, state, body)
        self.reviews.append(review)
        return review

    def add_review_comment(
        self,
        repository: str,
        pull_number: int,
        user: str,
        body: str,
        path: str,
        line: int,
        review_id: int = 0,
    ) -> ReviewComment:
        comment = ReviewComment(
            next(self.ids), repository, pull_number, user, body, path, line, review_id
        )
        self.review_comments.append(comment)
        return comment

    def add_check_run(
        self, repository: str, head_sha: str, name: str, conclusion: str | None, log: str = ""
    ) -> CheckRun:
        run = CheckRun(next(self.ids), repository, head_sha, name, conclusion, log)
        self.check_runs.append(run)
        return run
