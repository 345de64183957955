"""Schemathesis over every operation of /api/v1/openapi.json: no server error, answers as documented.

The document is fetched from the app with a real token, then each operation is called with
cases that fit it (on the scene's real problem, extension and evidence, so bodies reach the
actions) and with cases that do not (every path, query and body value mutated: non-numeric
ids, wrong types, NUL characters, huge numbers), as an office user and as a unit liaison.
Every answer must be below 500, and JSON in the shape the document gives for its status.
Generation is derandomized, so a run is the same every time.
"""

import time

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from duban.accounts.models import ApiToken
from duban.ledger.tests.flow import claimed_with_file_and_extension

USERS = ["office", "liaison"]
# Cases per operation, per user and per mode (fitting / mutated).
EXAMPLES = {GenerationMode.POSITIVE: 3, GenerationMode.NEGATIVE: 4}
CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance]
SETTINGS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def _scene(world):
    """A claimed problem with one file and one extension request, as the liaison leaves it."""
    problem, evidence, extension = claimed_with_file_and_extension(world)
    return {"problem_id": problem.pk, "evidence_id": evidence.pk, "extension_id": extension.pk}


def _run(operation, strategy, examples, headers, failures):
    calls = 0

    @settings(SETTINGS, max_examples=examples)
    @given(case=strategy)
    def fuzz(case):
        nonlocal calls
        calls += 1
        response = case.call(headers=headers)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (AssertionError, BaseExceptionGroup) as failure:
            # Collected, not raised: the report lists every failing operation at once.
            found = failure.exceptions if isinstance(failure, BaseExceptionGroup) else [failure]
            titles = "; ".join(getattr(f, "title", type(f).__name__) for f in found)
            failures.append(
                f"{operation.label} {case.path_parameters or ''} → {response.status_code} "
                f"{titles}: {response.text[:120]!r}"
            )

    fuzz()
    return calls


@pytest.fixture
def app():
    """Django as a WSGI app inside the test's transaction: like the test client, it must not
    close the connection at the end of each request (that would end the transaction)."""
    signals = (request_started, request_finished)
    for signal in signals:
        signal.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        for signal in signals:
            signal.connect(close_old_connections)


def test_no_api_operation_answers_a_server_error_or_off_its_document(world, media_root, app):
    ids = _scene(world)
    failures, cases, operations = [], 0, 0
    started = time.perf_counter()
    for username in USERS:
        _, key = ApiToken.issue(world.users[username], "fuzz")
        headers = {"Authorization": f"Bearer {key}"}
        schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, headers=headers)
        for result in schema.get_all_operations():
            operation = result.ok()
            operations += 1
            known = {name: ids[name] for name in ids if name in operation.path}
            fitting = operation.as_strategy(GenerationMode.POSITIVE, path_parameters=known)
            mutated = operation.as_strategy(GenerationMode.NEGATIVE)
            for mode, strategy in (
                (GenerationMode.POSITIVE, fitting),
                (GenerationMode.NEGATIVE, mutated),
            ):
                cases += _run(operation, strategy, EXAMPLES[mode], headers, failures)
    print(
        f"API fuzz: {cases} cases over {operations} operations in {time.perf_counter() - started:.1f} s"
    )
    assert operations >= 2 * 30
    assert failures == [], f"{len(failures)} failures:\n" + "\n".join(failures)
