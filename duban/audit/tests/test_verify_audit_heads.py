"""duban verify_audit against heads noted outside the database.

An attacker who owns the database can cut the tail and move the head back,
recompute the whole chain after an edit, or empty the log and reset it to the
start: the chain then verifies on its own (each test shows that first). A head an
auditor wrote down (`--expect SEQ:HASH`) and the heads noted in the append-only
head file after each commit catch every one of these.
"""

import datetime as dt
import json
import logging
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import translation

from duban.audit import log
from duban.audit.models import AuditEvent
from duban.ledger import actions

from .tampering import (
    cut_tail_after,
    empty_the_log,
    move_head_back,
    rewrite_from,
    shift_time,
)


@pytest.fixture
def chain(world, django_capture_on_commit_callbacks):
    """Six events in three committed changes, their heads noted in the head file."""
    with django_capture_on_commit_callbacks(execute=True):
        for number in range(3):
            problem = world.problem(ledger_number=f"第{number + 1}号")
            actions.assign(problem, by=world.office)
    assert AuditEvent.objects.count() == 6
    return {seq: hash_ for seq, hash_ in AuditEvent.objects.values_list("seq", "hash")}


def run(*args) -> dict:
    """The verifier's JSON verdict (whatever its exit status)."""
    out = StringIO()
    try:
        call_command(
            "verify_audit", "--no-progress", "--json", *args, stdout=out, stderr=StringIO()
        )
    except CommandError as failure:
        assert failure.returncode == 1
    return json.loads(out.getvalue())


def chain_alone() -> dict:
    """The verdict of the hash chain by itself, as the verifier gave it before noted heads."""
    verdict = log.verify()
    return {"ok": verdict.ok, "reason": verdict.reason}


def by_hand(head: str) -> dict:
    """The verdict against one head written down, with no head file to help."""
    noted_file = settings.DUBAN_AUDIT_HEAD_FILE
    settings.DUBAN_AUDIT_HEAD_FILE = noted_file.with_name("no-such-file.log")
    try:
        return run("--expect", head)
    finally:
        settings.DUBAN_AUDIT_HEAD_FILE = noted_file


def test_it_logs_each_noted_head(world, caplog, django_capture_on_commit_callbacks):
    with (
        caplog.at_level(logging.INFO, logger="duban.audit"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        problem = world.problem()
    event = AuditEvent.objects.get(target_id=str(problem.pk), action="problem.create")
    assert f"audit chain head #{event.seq} {event.hash}" in caplog.text


def test_it_notes_each_committed_head_in_the_file_and_the_log(world, chain, caplog):
    lines = settings.DUBAN_AUDIT_HEAD_FILE.read_text().splitlines()
    noted = [line.split() for line in lines]
    # One note per committed change: its time, number and hash.
    assert [(int(seq), hash_) for _, seq, hash_ in noted] == sorted(chain.items())
    assert all(dt.datetime.fromisoformat(at).tzinfo is not None for at, _, _ in noted)

    with caplog.at_level(logging.INFO, logger="duban.audit"), transaction.atomic():
        # A rolled-back change notes nothing.
        sid = transaction.savepoint()
        world.problem(ledger_number="第9号")
        transaction.savepoint_rollback(sid)
    assert len(settings.DUBAN_AUDIT_HEAD_FILE.read_text().splitlines()) == 6
    assert "audit chain head" not in caplog.text

    verdict = run()
    assert verdict["ok"] is True
    assert verdict["heads_checked"] == 6
    assert verdict["warnings"] == []


def noted_seqs() -> list[int]:
    return [
        int(line.split()[1]) for line in settings.DUBAN_AUDIT_HEAD_FILE.read_text().splitlines()
    ]


def test_a_change_that_appends_many_events_notes_its_last_head_once(
    chain, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for n in range(5):
            log.record(actor=None, role="", action="test.many", target=("ledger.problem", n))
    assert noted_seqs() == [1, 2, 3, 4, 5, 6, 11]


def test_a_rolled_back_step_keeps_the_head_noted_before_it(
    chain, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        log.record(actor=None, role="", action="test.kept", target=("ledger.problem", 1))
        with pytest.raises(RuntimeError), transaction.atomic():
            log.record(actor=None, role="", action="test.undone", target=("ledger.problem", 2))
            raise RuntimeError
    assert noted_seqs() == [1, 2, 3, 4, 5, 6, 7]
    assert run()["ok"] is True


def test_it_checks_a_head_written_down_by_hand(chain):
    assert run("--expect", f"6:{chain[6]}", "--expect", f"2:{chain[2]}")["ok"] is True

    verdict = by_hand(f"6:{chain[5]}")
    assert verdict["ok"] is False and verdict["broken_seq"] == 6
    assert "rewritten" in verdict["reason"]


def test_it_refuses_a_head_it_cannot_read(chain):
    with translation.override("en"), pytest.raises(CommandError) as failure:
        call_command("verify_audit", "--no-progress", "--expect", "6-abc", stdout=StringIO())
    assert failure.value.returncode == 2
    assert "6-abc" in str(failure.value) and "64-character hash" in str(failure.value)


def test_it_names_an_event_whose_shown_time_was_moved(world, chain):
    # The timeline shows `at`; the hash covers `at_text`. Moving `at` is caught by the chain walk.
    shift_time(3, dt.timedelta(days=-2))

    verdict = run("--expect", f"6:{chain[6]}")
    assert verdict["ok"] is False
    assert verdict["broken_seq"] == 3
    assert "time of event #3 was changed" in verdict["reason"]


def test_it_catches_a_cut_tail_with_the_head_moved_back(chain, tmp_path):
    cut_tail_after(4)
    assert chain_alone() == {"ok": True, "reason": ""}  # the chain alone cannot tell

    written_down = by_hand(f"6:{chain[6]}")
    assert written_down["ok"] is False and written_down["broken_seq"] == 6
    assert "missing" in written_down["reason"] and "cut back or emptied" in written_down["reason"]

    by_file = run()
    assert by_file["ok"] is False and by_file["broken_seq"] == 5
    assert str(settings.DUBAN_AUDIT_HEAD_FILE) in by_file["reason"]


def test_it_catches_a_recomputed_chain(chain):
    rewrite_from(2, actor_name="someone else")
    assert chain_alone() == {"ok": True, "reason": ""}
    assert AuditEvent.objects.get(seq=2).actor_name == "someone else"

    written_down = by_hand(f"6:{chain[6]}")
    assert written_down["ok"] is False and written_down["broken_seq"] == 6
    assert "rewritten" in written_down["reason"]

    by_file = run()
    assert by_file["ok"] is False and by_file["broken_seq"] == 2
    assert f"but {chain[2]} was noted" in by_file["reason"]


def test_a_forged_note_does_not_hide_a_recomputed_chain(chain):
    rewrite_from(1, actor_name="someone else")
    # The attacker can append to the file too, but not take back the lines already there.
    head_seq, head_hash = log.chain_head()
    with settings.DUBAN_AUDIT_HEAD_FILE.open("a") as file:
        file.write(f"2026-12-07T00:00:00+00:00 {head_seq} {head_hash}\n")

    verdict = run()
    assert verdict["ok"] is False and verdict["broken_seq"] == 1


def test_it_catches_an_emptied_log_reset_to_the_start(chain):
    empty_the_log()
    assert chain_alone() == {"ok": True, "reason": ""}
    assert log.chain_head()[0] == 0

    written_down = by_hand(f"6:{chain[6]}")
    assert written_down["ok"] is False and "missing" in written_down["reason"]

    by_file = run()
    assert by_file["ok"] is False and by_file["broken_seq"] == 1
    assert "missing" in by_file["reason"]


def test_it_warns_when_no_head_was_ever_noted(chain, tmp_path):
    settings.DUBAN_AUDIT_HEAD_FILE = tmp_path / "never-written.log"
    verdict = run()
    assert verdict["ok"] is True
    assert verdict["warnings"] == [f"no chain head noted in {tmp_path / 'never-written.log'} yet"]


def test_it_samples_a_long_head_file_back_to_its_first_line(chain):
    """Only the newest notes and a sample are read by default; an old note still counts."""
    path = settings.DUBAN_AUDIT_HEAD_FILE
    lines = path.read_text().splitlines()
    # Thousands of notes of the current head after the first six, as a busy office writes.
    filler = f"2026-12-07T00:00:00+00:00 6 {chain[6]}\n" * 5000
    path.write_text("\n".join(lines) + "\n" + filler)
    move_head_back(6)
    rewrite_from(1, actor_name="someone else")
    # Make every recent note match the rewritten chain, as a patient attacker would.
    new_head = log.chain_head()[1]
    path.write_text("\n".join(lines) + "\n" + filler.replace(chain[6], new_head))

    verdict = run()
    assert verdict["ok"] is False and verdict["broken_seq"] == 1
    assert run("--every-note")["broken_seq"] == 1
