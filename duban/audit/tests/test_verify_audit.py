"""duban verify_audit: exit 0 on an intact chain; non-zero naming the first broken event."""

import json
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError, transaction

from duban.audit.models import AuditEvent
from duban.ledger import actions

from .tampering import drop_append_only_triggers, execute


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # The world's twelve accounts would take seconds to hash with the production hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def chain(world):
    """A short real chain: three problems registered and assigned by the office."""
    for number in range(3):
        problem = world.problem(ledger_number=f"第{number + 1}号")
        actions.assign(problem, by=world.office)
    assert AuditEvent.objects.count() == 6
    return list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))


def verify(*args):
    out, err = StringIO(), StringIO()
    call_command("verify_audit", "--no-progress", *args, stdout=out, stderr=err)
    return out.getvalue()


def broken(*args) -> tuple[str, str]:
    """Run the verifier expecting failure: (its error message, its stdout)."""
    out = StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("verify_audit", "--no-progress", *args, stdout=out, stderr=StringIO())
    assert failure.value.returncode == 1
    return str(failure.value), out.getvalue()


def test_it_passes_an_intact_chain_and_prints_its_head(chain):
    text = verify()
    assert "6" in text
    head = AuditEvent.objects.order_by("-seq").first()
    assert head.hash in text

    verdict = json.loads(verify("--json"))
    assert verdict == {
        "ok": True,
        "checked": 6,
        "head_seq": 6,
        "head_hash": head.hash,
        "broken_seq": None,
        "reason": "",
        "heads_checked": 0,
        # The test's transaction never commits, so no head was noted outside.
        "warnings": [f"no chain head noted in {settings.DUBAN_AUDIT_HEAD_FILE} yet"],
    }


def test_it_passes_an_empty_log(db):
    assert json.loads(verify("--json"))["ok"] is True


def test_it_refuses_edits_while_the_triggers_stand(chain):
    with pytest.raises(DatabaseError), transaction.atomic():
        execute("UPDATE {table} SET actor_name = %s WHERE seq = 3", ["someone else"])
    with pytest.raises(DatabaseError), transaction.atomic():
        execute("DELETE FROM {table} WHERE seq = 3")
    assert json.loads(verify("--json"))["ok"] is True


def test_it_names_an_edited_event(chain):
    drop_append_only_triggers()
    execute("UPDATE {table} SET actor_name = %s WHERE seq = 3", ["someone else"])

    message, _ = broken()
    assert "#3" in message and "changed" in message
    _, out = broken("--json")
    verdict = json.loads(out)
    assert verdict["ok"] is False
    assert verdict["broken_seq"] == 3
    assert verdict["checked"] == 2


def test_it_names_a_deleted_event(chain):
    drop_append_only_triggers()
    execute("DELETE FROM {table} WHERE seq = 4")

    message, out = broken("--json")
    verdict = json.loads(out)
    assert verdict["broken_seq"] == 4
    assert "missing" in verdict["reason"]
    assert "#4" in message


def test_it_names_the_first_of_two_reordered_events(chain):
    drop_append_only_triggers()
    # Swap events 3 and 4 (seq is unique, so through a free number).
    execute("UPDATE {table} SET seq = 999999 WHERE seq = 3")
    execute("UPDATE {table} SET seq = 3 WHERE seq = 4")
    execute("UPDATE {table} SET seq = 4 WHERE seq = 999999")

    message, out = broken("--json")
    verdict = json.loads(out)
    assert verdict["broken_seq"] == 3
    assert "does not follow" in verdict["reason"]
    assert "#3" in message


def test_it_names_a_truncated_tail(chain):
    drop_append_only_triggers()
    execute("DELETE FROM {table} WHERE seq >= 5")

    message, out = broken("--json")
    verdict = json.loads(out)
    assert verdict["checked"] == 4
    assert verdict["head_seq"] == 6
    assert verdict["broken_seq"] == 5
    assert "removed from the end" in verdict["reason"]
    assert "#5" in message
