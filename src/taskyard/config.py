"""Settings: one object, loaded once, from ``TASKYARD_*`` environment variables."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from taskyard.model import hosts
from taskyard.model.forge import origin

PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", ""}


class Settings(BaseSettings):
    """Every setting of taskyard; each is read from ``TASKYARD_<NAME>``."""

    # An empty variable is an unset one (`TASKYARD_X= taskyard serve` keeps the default).
    model_config = SettingsConfigDict(env_prefix="TASKYARD_", extra="ignore", env_ignore_empty=True)

    environment: Literal["development", "production"] = Field(
        "development", description="`production` rejects placeholder secrets."
    )
    data_dir: Path = Field(
        Path.home() / ".local" / "share" / "taskyard",
        description="Where the database, Temporal state, checkouts and caches live.",
    )
    tool_cache: Path | None = Field(
        None,
        description="Where agent CLIs are installed, shared by every task (default: "
        "`<data dir>/tools`).",
    )
    tools_offline: bool = Field(
        False,
        description="Never ask a package registry: use the newest installed version of an "
        "agent CLI, and fail if there is none.",
    )
    database_url: str = Field(
        "", description="SQLAlchemy URL; empty means SQLite in the data directory."
    )
    host: str = Field("127.0.0.1", description="Address the API and dashboard listen on.")
    port: int = Field(8420, description="Port the API listens on (0 picks a free one).")
    public_url: str = Field(
        "",
        description="URL people reach the server at, used in every link taskyard writes "
        "(pull requests, comments); default http://<host>:<port>, with this machine's name "
        "for a wildcard host.",
    )
    admin_token: str = Field(
        "", description="At first start, becomes the first admin's API token (for automation)."
    )
    temporal_address: str = Field(
        "", description="host:port of a Temporal cluster; empty starts an embedded dev server."
    )
    temporal_namespace: str = Field("default", description="Temporal namespace.")
    task_queue: str = Field("taskyard", description="Temporal task queue the workers poll.")
    run_worker: bool = Field(True, description="Whether `serve` runs a worker in-process.")
    worker_id: str = Field(
        "",
        max_length=100,
        pattern=r"^[A-Za-z0-9._-]*$",
        description="This worker's name, which names its own task queue (tasks whose "
        "checkouts it holds come back to it); empty: a name made up at its first start and "
        "kept in its data directory. Two workers must never share one.",
    )
    heartbeat_timeout: float = Field(
        10.0,
        gt=0,
        description="Seconds without a heartbeat before a turn is retried, and that a worker's "
        "own queue may go unanswered before its tasks' workspaces move to another worker. "
        "Set it alike on the API and the workers: a task carries the value of the process "
        "that started it.",
    )
    metrics_address: str = Field(
        "",
        max_length=200,
        description="`host:port` where a process running a worker serves its Prometheus "
        "metrics (aggregate over organizations, no token: bind it where only your "
        "monitoring reaches); empty: not served.",
    )
    worker_shutdown_seconds: float = Field(
        5.0,
        ge=0,
        description="Seconds a stopping worker gives running turns to finish before it "
        "cancels them (their sandboxes are killed and the turns retried).",
    )
    team_max_running: int = Field(
        0,
        ge=0,
        le=10_000,
        description="How many tasks of one team may run an agent at once (provisioning and "
        "turns) unless the team has its own limit; more wait in line, `queued`. 0: no limit. "
        "Every process must set the same value.",
    )
    git_author_name: str = Field("taskyard", description="Author name of delivered commits.")
    git_author_email: str = Field(
        "taskyard@localhost", description="Author email of delivered commits."
    )
    github_token: str = Field(
        "", description="Token used to fetch, push and open pull requests on GitHub forges."
    )
    github_api_url: str = Field(
        "https://api.github.com",
        description="GitHub REST API base, for GitHub forges whose setting names none "
        "(see docs/forges.md).",
    )
    forge_origins: str = Field(
        "",
        description="Forge sites an organization's admin may put its repositories on, "
        "comma-separated origins (`https://github.example.com`, "
        "`https://github.example.com:8443`), besides https://github.com and "
        "`TASKYARD_GITHUB_API_URL`'s: the server's forge credentials are sent to a site's "
        "URLs, so they go to these and nowhere else (see docs/forges.md).",
    )
    github_app_id: int = Field(
        0,
        ge=0,
        description="A GitHub App's id: GitHub forges then act as the App's installation on "
        "each repository (tokens made per installation, kept until shortly before they "
        "expire) instead of with `TASKYARD_GITHUB_TOKEN` (see docs/forges.md).",
    )
    github_app_private_key: str = Field(
        "",
        description="The GitHub App's private key (PEM); or "
        "`TASKYARD_GITHUB_APP_PRIVATE_KEY_FILE`.",
    )
    github_app_private_key_file: Path | None = Field(
        None, description="File holding the GitHub App's private key (PEM)."
    )
    github_webhook_secret: str = Field(
        "",
        description="The secret GitHub signs webhook deliveries with (the webhook's "
        "*Secret*); while empty, `POST /webhooks/github` refuses every delivery.",
    )
    github_webhook_max_bytes: int = Field(
        5_000_000,
        ge=1024,
        le=25_000_000,
        description="Largest webhook delivery accepted (413 beyond it); GitHub sends at "
        "most 25 MB.",
    )
    github_allowed_bots: Annotated[list[str], NoDecode] = Field(
        [],
        description="GitHub bots (by login, comma-separated, e.g. `renovate[bot]`) that may "
        "start tasks; every other bot is refused. An allowed bot still needs a linked "
        "identity (see docs/github.md).",
    )
    github_oauth_client_id: str = Field(
        "",
        description="Client id of the GitHub OAuth App (or a GitHub App's) people link their "
        "GitHub account with at `/settings/external-auth`; empty: only admins link accounts.",
    )
    github_oauth_client_secret: str = Field(
        "", description="Client secret of that OAuth App (see docs/github.md)."
    )
    github_comment_interval: float = Field(
        5.0,
        ge=0,
        le=3600,
        description="Seconds between two edits of a task's tracking comment on GitHub: the "
        "changes made meanwhile are shown together in the next edit, so a busy task stays "
        "within GitHub's rate limits.",
    )
    github_repair_rounds: int = Field(
        2,
        ge=0,
        le=20,
        description="Repair turns taskyard gives a pull request it opened whose checks fail "
        "on its latest commit; after that it stops and says so (see docs/github.md). "
        "0: failing checks start no turn.",
    )
    notify_retry_base_seconds: float = Field(
        10.0,
        gt=0,
        le=3600,
        description="Seconds before a failed notification is sent again; doubled (with "
        "jitter) at each further failure, at most hourly, given up a day after its event.",
    )
    outbound_allowed_hosts: str = Field(
        "external",
        description="Where a URL a user gives (a notification webhook's, a Slack incoming "
        "webhook's) and a sandbox's egress (an address a template's `network.allow` lists) "
        "may point, comma-separated: `external` (globally routable addresses), "
        "`loopback`, `private` (RFC 1918, ULA, CGNAT), `*` (anything), CIDRs "
        "(`10.1.0.0/16`) and host names with `*` globs (`hooks.internal.example`). "
        "Link-local and cloud metadata addresses (169.254.0.0/16, fe80::/10, "
        "100.100.100.200, fd00:ec2::254) need `*` or a CIDR inside them (see "
        "docs/security.md).",
    )
    slack_api_url: str = Field(
        "https://slack.com/api",
        description="Slack Web API base the Slack channel posts and updates messages with "
        "(see docs/notifications.md).",
    )
    slack_timeout: float = Field(
        10.0, gt=0, le=300, description="Seconds a request to Slack may take before it is retried."
    )
    smtp_host: str = Field(
        "", description="SMTP server that sends notification email; empty: no email is sent."
    )
    smtp_port: int = Field(
        587, ge=1, le=65535, description="Its port; 465 speaks TLS from the first byte."
    )
    smtp_username: str = Field("", description="User to authenticate as; empty: no AUTH.")
    smtp_password: str = Field("", description="That user's password (never logged).")
    smtp_from: str = Field(
        "", description="Sender of notification email, e.g. `taskyard <taskyard@example.com>`."
    )
    smtp_starttls: bool = Field(
        True,
        description="Require STARTTLS on ports other than 465 (set false only for a relay "
        "on the same machine or network that offers no TLS).",
    )
    smtp_timeout: float = Field(
        10.0,
        gt=0,
        le=300,
        description="Seconds the SMTP server may take over any one step before the email is "
        "retried.",
    )
    secret_key: str = Field(
        "",
        description="Key that encrypts stored secrets; generated in the data dir if empty, on "
        "one machine only: with a database server or a Temporal cluster every process must "
        "set the same one, or it refuses to start.",
    )
    workspace_retention_hours: float = Field(
        24.0, description="Hours a finished task's checkout is kept before it is removed."
    )
    checkout_pool_size: int = Field(
        2,
        ge=0,
        description="Ready checkouts kept per repository and base branch (0 turns the pool off).",
    )
    sandbox_uid: int = Field(
        65532,
        ge=1,
        le=2**31 - 2,
        description="Unprivileged uid (and gid) agents run as when the server runs as root.",
    )
    sandbox_hide: list[Path] = Field(
        default_factory=list,
        description="More host paths sandboxes never see (JSON list), besides the data "
        "directory and the server user's home.",
    )
    allow_unsandboxed: bool = Field(
        False,
        description="Allow templates with `sandbox: none`, whose agents run on the host "
        "with the server's privileges.",
    )
    allow_full_network: bool = Field(
        False,
        description="Allow templates with `network: full`, whose agents share the host's "
        "network: its loopback services (the API, an embedded Temporal server that has no "
        "authentication, the database), its neighbours and the cloud's metadata service. "
        "For servers whose every template author is trusted (see docs/security.md).",
    )
    snapshot_max_mb: int = Field(
        200,
        ge=1,
        le=100_000,
        description="Largest export of an agent's work (a git pack) the server accepts, in MB.",
    )
    anthropic_base_url: str = Field(
        "https://api.anthropic.com",
        description="Anthropic API the model proxy forwards `/anthropic/...` requests to.",
    )
    openai_base_url: str = Field(
        "https://api.openai.com/v1",
        description="OpenAI API (with its `/v1`) the model proxy forwards `/openai/v1/...` to.",
    )
    anthropic_api_key: str = Field(
        "", description="Anthropic key for organizations without an ANTHROPIC_API_KEY secret."
    )
    openai_api_key: str = Field(
        "", description="OpenAI key for organizations without an OPENAI_API_KEY secret."
    )
    gemini_base_url: str = Field(
        "https://generativelanguage.googleapis.com",
        description="Gemini API the model proxy forwards `/google/...` requests to.",
    )
    gemini_api_key: str = Field(
        "", description="Gemini key for organizations without a GEMINI_API_KEY secret."
    )

    log_format: Literal["text", "json"] = Field(
        "text",
        description="How `serve` and `worker` write their logs: `text` for people, `json` for "
        "one JSON object a line (time, level, logger, message, and the task key, stage, run "
        "id and turn of lines about a task's work).",
    )

    start_sweep_seconds: float = Field(
        10.0,
        gt=0,
        le=3600,
        description="Seconds between sweeps that start tasks whose run was stored but whose "
        "workflow the engine could not start then (Temporal busy or away): such a task is "
        "answered 201 and starts at the next sweep.",
    )
    schedule_min_interval_seconds: int = Field(
        60,
        ge=1,
        le=60,
        description="Least time between two fires of a schedule whose cron has a seconds "
        "field (7 fields); 1 allows every second.",
    )
    max_body_bytes: int = Field(
        1_000_000, ge=1024, description="Largest request body accepted (413 beyond it)."
    )
    max_template_bytes: int = Field(
        256_000, ge=1024, description="Largest template (YAML) accepted by `POST /templates`."
    )
    local_repository_roots: Annotated[list[Path], NoDecode] = Field(
        [],
        description=(
            "Directories (separated by `:`) under which tasks may name a local repository "
            "by path; empty refuses every local path."
        ),
    )

    @field_validator("local_repository_roots", mode="before")
    @classmethod
    def _split_roots(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part for part in value.split(os.pathsep) if part.strip()]
        return value

    @field_validator("outbound_allowed_hosts")
    @classmethod
    def _check_hosts(cls, value: str) -> str:
        hosts.parse(value)  # a typo must stop the server, not open or close it silently
        return value

    @field_validator("forge_origins")
    @classmethod
    def _check_origins(cls, value: str) -> str:
        _origins(value)  # a typo must stop the server, not refuse every site at delivery
        return value

    @field_validator("github_allowed_bots", mode="before")
    @classmethod
    def _split_bots(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _reject_placeholders(self) -> Settings:
        if self.environment == "production":
            for name in ("admin_token", "secret_key", "github_webhook_secret"):
                value = getattr(self, name)
                if value and value.lower() in PLACEHOLDER_SECRETS:
                    raise ValueError(f"TASKYARD_{name.upper()} is a placeholder; set a real value")
        return self

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'taskyard.db'}"

    @property
    def scale_out(self) -> bool:
        """Whether other processes, maybe on other machines, can share this one's work:
        its database is a server rather than SQLite, or its Temporal is a cluster."""
        return bool(self.temporal_address) or not self.resolved_database_url.startswith("sqlite")

    @property
    def allowed_hosts(self) -> hosts.AllowedHosts:
        return hosts.parse(self.outbound_allowed_hosts)

    @property
    def allowed_forge_origins(self) -> frozenset[str]:
        return _origins(self.forge_origins)

    @property
    def checkouts_dir(self) -> Path:
        return self.data_dir / "checkouts"

    @property
    def mirrors_dir(self) -> Path:
        return self.data_dir / "mirrors"


def _origins(value: str) -> frozenset[str]:
    found = set()
    for part in filter(None, (p.strip() for p in value.split(","))):
        try:
            bare = origin(part)
        except ValueError as exc:
            raise ValueError(f"TASKYARD_FORGE_ORIGINS: {exc}") from None
        if bare != part.lower().rstrip("/"):
            raise ValueError(
                f"TASKYARD_FORGE_ORIGINS: '{part[:200]}' is not an origin; write it as {bare}"
            )
        found.add(bare)
    return frozenset(found)


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()
