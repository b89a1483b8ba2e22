"""Schemathesis over the whole OpenAPI description, against the real server on loopback.

Every operation gets generated requests, valid and not; each answer must be no 5xx,
a status the description lists, the content type it lists, and a body its schema fits.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from taskyard.api.app import create_app
from taskyard.config import Settings
from taskyard.db.models import User
from taskyard.db.session import session_scope
from taskyard.services import tokens
from tests.api.conftest import bootstrapped
from tests.conftest import ADMIN_TOKEN, fresh_database
from tests.support.server import start_server

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
SENT: Counter[str] = Counter()
STATUSES: Counter[int] = Counter()
schema = schemathesis.openapi.from_dict(create_app(Settings()).openapi())


class Fuzzer:
    """The server under fuzzing, and a token of its installation admin that is minted
    again whenever a generated request revokes it."""

    def __init__(self, client: httpx.Client, settings: Settings) -> None:
        self.url = str(client.base_url)
        self.database = settings.resolved_database_url
        self.token = ""
        self.mint()

    def mint(self) -> None:
        with session_scope(self.database) as session:
            admin = session.get(User, 1)
            assert admin is not None
            _, self.token = tokens.create_token(
                session, admin, "fuzz", ["admin", tokens.INSTALLATION_ADMIN]
            )

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="module")
def fuzzer(tmp_path_factory: pytest.TempPathFactory, temporal_address: str) -> Iterator[Fuzzer]:
    """One server for every operation: what one request stores, the next ones read.

    The engine is real (the tests' Temporal server), with no worker: tasks the fuzzer
    starts are started, and never run an agent.
    """
    directory = tmp_path_factory.mktemp("fuzz")
    with fresh_database(directory) as url:
        settings = bootstrapped(directory, url).model_copy(
            update={
                "temporal_address": temporal_address,
                "task_queue": f"fuzz-{uuid.uuid4()}",
                "run_worker": False,
            }
        )
        with start_server(settings, ADMIN_TOKEN) as server:
            yield Fuzzer(server.http, settings)
    stateful = sum(n for label, n in SENT.items() if label.startswith("stateful "))
    print(f"\nschemathesis sent {SENT.total()} requests ({stateful} in linked sequences)")
    print("answers by status:", dict(sorted(STATUSES.items())))


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    database=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_holds_under_fuzzing(case: schemathesis.Case, fuzzer: Fuzzer) -> None:
    SENT[case.operation.label] += 1
    response = case.call(base_url=fuzzer.url, headers=fuzzer.headers, timeout=30)
    STATUSES[response.status_code] += 1
    case.validate_response(response, checks=CHECKS)
    if response.status_code == 401 or (case.method == "DELETE" and "tokens" in case.path):
        fuzzer.mint()


def test_linked_operations_hold_in_sequence(fuzzer: Fuzzer) -> None:
    """Schemathesis follows the description's links: what a creation returns is used next."""

    class Machine(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, object]:
            return {"base_url": fuzzer.url, "headers": fuzzer.headers, "timeout": 30}

        def validate_response(
            self, response: Any, case: schemathesis.Case, *args: Any, **kwargs: Any
        ) -> None:
            SENT["stateful " + case.operation.label] += 1
            STATUSES[response.status_code] += 1
            case.validate_response(response, checks=CHECKS)
            if response.status_code == 401 or (case.method == "DELETE" and "tokens" in case.path):
                fuzzer.mint()

    Machine.run(
        settings=settings(
            max_examples=15,
            stateful_step_count=8,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
    )
