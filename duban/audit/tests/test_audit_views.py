"""审计日志 pages: only the audit administrator reads, filters, pages, verifies and exports the log."""

import csv
import datetime as dt
import html
import io
import re

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from duban.accounts.models import User
from duban.audit import log, triggers
from duban.org.models import Membership, Role


def note(
    actor,
    action="problem.edit",
    *,
    target=("ledger.problem", 1),
    before=None,
    after=None,
    problem_id=None,
    role="office",
):
    """One audit event, written the way every action writes it."""
    with transaction.atomic():
        return log.record(
            actor=actor,
            role=role,
            action=action,
            target=target,
            before=before,
            after=after,
            problem_id=problem_id,
        )


def client_for(user, language="en") -> Client:
    user.language = language
    user.save(update_fields=["language"])
    client = Client()
    client.force_login(user)
    return client


def listed_seqs(response) -> list[int]:
    return [int(seq) for seq in re.findall(r'<tr data-seq="(\d+)"', response.content.decode())]


@pytest.fixture
def auditor(world):
    return client_for(world.auditor)


# --- who reads the log ---------------------------------------------------------------------------


def test_it_shows_the_auditor_every_event_newest_first(world, auditor):
    first = note(
        world.office, "problem.create", after={"title": "燃煤小锅炉淘汰不到位"}, problem_id=7
    )
    second = note(
        world.liaison,
        "claim",
        before={"state": "assigned"},
        after={"state": "claimed"},
        role="liaison",
    )

    response = auditor.get("/audit/")

    assert response.status_code == 200
    assert listed_seqs(response) == [second.seq, first.seq]
    page = response.content.decode()
    assert second.at_text in page  # the time as recorded, with its offset
    assert "+08:00" in second.at_text
    assert "assigned" in page and "claimed" in page  # the short diff
    assert "燃煤小锅炉淘汰不到位" in page
    head_seq, head_hash = log.chain_head()
    assert f"<span data-head-seq>{head_seq}</span>" in page
    assert head_hash in page


@pytest.mark.parametrize("username", ["office", "liaison", "discipline", "sysadmin", "outsider"])
def test_it_keeps_the_log_from_everyone_but_the_auditor(world, username):
    event = note(world.office, "problem.create", after={"title": "标题"})
    client = client_for(world.users[username])

    assert client.get("/audit/").status_code == 403
    assert client.get(f"/audit/events/{event.seq}/").status_code == 404
    assert client.get("/audit/events/999999/").status_code == 404
    assert client.post("/audit/verify/").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403
    assert "/audit/" not in client.get("/ledger/").content.decode()


def test_it_sends_anonymous_visitors_to_the_login_page(world):
    for path in ("/audit/", "/audit/events/1/", "/audit/verify/", "/audit/export.csv"):
        response = Client().get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_it_links_the_log_from_the_menu_for_the_auditor_only(world, auditor):
    assert 'href="/audit/"' in auditor.get("/ledger/").content.decode()
    assert 'href="/audit/"' not in client_for(world.office).get("/ledger/").content.decode()


def test_it_shows_one_event_in_full_with_its_hashes(world, auditor):
    note(world.office, "problem.create", after={"title": "旧标题"})
    event = note(
        world.office,
        "problem.edit",
        before={"title": "旧标题", "is_key": False},
        after={"title": "新标题", "is_key": True},
        problem_id=7,
    )

    response = auditor.get(f"/audit/events/{event.seq}/")

    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert event.prev_hash in page and event.hash in page
    assert '"title": "新标题"' in page  # pretty-printed JSON, Chinese kept readable
    assert '"is_key": true' in page
    assert 'data-link="ok"' in page
    assert auditor.get(f"/audit/events/{event.seq + 1}/").status_code == 404


# --- filters and pages ---------------------------------------------------------------------------


def test_it_filters_by_action_actor_target_problem_and_date(world, auditor):
    plan = note(
        world.liaison, "plan.save", target=("ledger.problem", 3), problem_id=3, role="liaison"
    )
    submit = note(
        world.liaison, "plan.submit", target=("ledger.problem", 3), problem_id=3, role="liaison"
    )
    evidence = note(world.office, "evidence.upload", target=("ledger.evidence", 9), problem_id=4)
    world.liaison.display_name = "李联络"
    world.liaison.save(update_fields=["display_name"])
    named = note(world.liaison, "claim", problem_id=5, role="liaison")
    today = timezone.localdate()

    def seqs(query):
        response = auditor.get("/audit/", query)
        assert response.status_code == 200
        return listed_seqs(response)

    assert seqs({"action": "plan"}) == [submit.seq, plan.seq]
    assert seqs({"action": "plan.sub"}) == [submit.seq]
    # By username (the name in the earlier events is the username) and by the display name.
    assert seqs({"actor": "liais"}) == [named.seq, submit.seq, plan.seq]
    assert seqs({"actor": "李联"}) == [named.seq, submit.seq, plan.seq]
    assert seqs({"target_type": "ledger.evidence"}) == [evidence.seq]
    assert seqs({"problem": 3}) == [submit.seq, plan.seq]
    assert seqs({"date_from": today.isoformat(), "problem": 4}) == [evidence.seq]
    assert seqs({"date_to": (today - dt.timedelta(days=1)).isoformat()}) == []
    assert seqs({"date_from": (today + dt.timedelta(days=1)).isoformat()}) == []
    assert seqs({"action": "claim", "actor": "office"}) == []


def test_it_lists_nothing_for_a_filter_it_cannot_read(world, auditor):
    note(world.office)
    response = auditor.get("/audit/", {"problem": "abc", "date_from": "2026-13-40"})
    assert response.status_code == 400
    assert listed_seqs(response) == []


def test_it_pages_by_event_number_without_counting(world, auditor, settings):
    settings.DUBAN_PAGE_SIZE = 3
    seqs = [note(world.office, f"step.{n}").seq for n in range(7)]
    newest_first = seqs[::-1]

    first = auditor.get("/audit/")
    assert listed_seqs(first) == newest_first[0:3]
    older = f"?before={newest_first[2]}"
    assert older in first.content.decode()
    assert "?after=" not in first.content.decode()

    second = auditor.get("/audit/" + older)
    assert listed_seqs(second) == newest_first[3:6]
    third = auditor.get(f"/audit/?before={newest_first[5]}")
    assert listed_seqs(third) == newest_first[6:]
    assert "?before=" not in third.content.decode().split('class="pagination"')[1]

    # Back towards the newest: the page just after the oldest event.
    newer = auditor.get(f"/audit/?after={newest_first[6]}")
    assert listed_seqs(newer) == newest_first[3:6]
    # Filters stay on the page links.
    filtered = auditor.get("/audit/", {"action": "step", "before": newest_first[0]})
    assert f"action=step&amp;before={newest_first[3]}" in filtered.content.decode()


def test_it_reads_the_list_in_the_same_number_of_queries_for_5_or_50_events(world, auditor):
    def queries_for_list() -> int:
        auditor.get("/audit/")  # warm up: the session is refreshed at most once a minute
        with CaptureQueriesContext(connection) as queries:
            response = auditor.get("/audit/", {"action": "problem"})
        assert response.status_code == 200
        return len(queries), len(listed_seqs(response))

    actors = [world.office, world.liaison, world.unit_head, world.lead_official, None]
    for n in range(5):
        note(actors[n % 5], "problem.edit", before={"n": n}, after={"n": n + 1})
    few, listed_few = queries_for_list()
    for n in range(45):
        note(actors[n % 5], "problem.edit", before={"n": n}, after={"n": n + 1})
    many, listed_many = queries_for_list()

    assert (listed_few, listed_many) == (5, 50)
    assert few == many


# --- verify --------------------------------------------------------------------------------------


def test_it_verifies_the_chain_and_names_the_head(world, auditor):
    for n in range(3):
        note(world.office, "problem.edit", after={"n": n})
    head_seq, head_hash = log.chain_head()

    response = auditor.post("/audit/verify/")

    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-verdict="ok"' in page
    assert f"{head_seq} events checked" in page
    assert head_hash in page
    assert "duban verify_audit" in page


def test_it_names_the_first_broken_event_after_tampering(world, auditor):
    events = [note(world.office, "problem.edit", after={"title": f"标题{n}"}) for n in range(4)]
    tampered = events[1]
    # Someone with the database in hand lifts the triggers and rewrites history.
    triggers.remove(connection)
    cast = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE audit_auditevent SET "after" = {cast} WHERE seq = %s',
            ['{"title": "改过的标题"}', tampered.seq],
        )

    response = auditor.post("/audit/verify/")

    page = response.content.decode()
    assert 'data-verdict="broken"' in page
    assert f'data-broken-seq="{tampered.seq}"' in page
    assert f'class="broken" aria-current="true" data-seq="{tampered.seq}"' in page
    assert "was changed after it was written" in page
    detail = auditor.get(f"/audit/events/{tampered.seq}/").content.decode()
    assert 'data-link="broken"' in detail
    assert "改过的标题" in detail


def test_it_shows_the_verify_page_in_chinese(world):
    note(world.office)
    response = client_for(world.auditor, language="zh-hans").post("/audit/verify/")
    page = response.content.decode()
    assert "duban verify_audit" in page
    assert "审计日志" in page


# --- export --------------------------------------------------------------------------------------


def test_it_exports_the_filtered_events_as_csv_for_excel(world, auditor):
    mallory = User.objects.create_user(
        username="mallory", display_name='=HYPERLINK("http://x","点我")'
    )
    Membership.objects.create(user=mallory, unit=world.eco, role=Role.LIAISON)
    plain = note(
        world.office, "problem.edit", before={"title": "旧"}, after={"title": "新"}, problem_id=3
    )
    sly = note(mallory, "progress.report", after={"text": "+1 进展"}, problem_id=3, role="liaison")
    note(world.office, "problem.edit", problem_id=4)

    response = auditor.get("/audit/export.csv", {"problem": 3})

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Seq", "Time", "Actor id"]
    assert [row[0] for row in rows[1:]] == [str(plain.seq), str(sly.seq)]
    assert rows[1][3] == "office"
    assert rows[1][10] == '{"title": "新"}'
    assert rows[1][12] == plain.hash
    assert rows[2][3] == "'" + '=HYPERLINK("http://x","点我")'


def test_it_exports_in_chunks_by_event_number(world):
    from duban.audit.models import AuditEvent
    from duban.audit.views import _csv_lines

    seqs = [note(world.office, "problem.edit", after={"n": n}).seq for n in range(5)]

    chunks = list(_csv_lines(AuditEvent.objects.all(), ["Seq"], chunk_size=2))

    rows = list(csv.reader(io.StringIO("".join(chunks).lstrip("\ufeff"))))
    assert [int(row[0]) for row in rows[1:]] == seqs
    assert len(chunks) == 1 + 3  # the header, then 2 + 2 + 1 events


def test_it_neutralises_every_formula_start():
    from duban.audit.views import neutralise

    for text in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert neutralise(text) == "'" + text
    assert neutralise("整改") == "整改"
    assert neutralise(-1) == -1  # numbers are numbers, not formulas


@pytest.mark.parametrize(
    "query",
    [
        {"date_to": "9999-12-31"},
        {"date_from": "0001-01-01"},
        {"date_from": "1899-12-31"},
        {"date_to": "2101-01-01"},
    ],
)
def test_it_refuses_a_date_outside_the_years_an_office_uses_on_the_page_and_in_the_export(
    world, auditor, query
):
    note(world.office)
    for path in ("/audit/", "/audit/export.csv"):
        response = auditor.get(path, query)
        assert response.status_code == 400, path
        assert listed_seqs(response) == []
        assert (
            "1900-01-01" in response.content.decode() and "2100-12-31" in response.content.decode()
        )


def test_it_accepts_the_first_and_last_dates_of_the_range(world, auditor):
    event = note(world.office)
    response = auditor.get("/audit/", {"date_from": "1900-01-01", "date_to": "2100-12-31"})
    assert listed_seqs(response) == [event.seq]
    export = auditor.get("/audit/export.csv", {"date_from": "1900-01-01", "date_to": "2100-12-31"})
    assert export.status_code == 200


# --- heads noted outside -------------------------------------------------------------------------


def test_it_checks_the_chain_against_a_head_the_auditor_pastes(world, auditor):
    events = [note(world.office, "problem.edit", after={"n": n}) for n in range(4)]
    noted = f"{events[-1].seq}:{events[-1].hash}"
    assert 'data-verdict="ok"' in auditor.post("/audit/verify/", {"expect": noted}).content.decode()

    # Cut the tail and move the head back: the chain alone still verifies.
    triggers.remove(connection)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq > %s", [events[1].seq])
        cursor.execute(
            "UPDATE audit_audithead SET seq = %s, hash = %s", [events[1].seq, events[1].hash]
        )
    assert log.verify().ok

    page = auditor.post("/audit/verify/", {"expect": noted}).content.decode()
    assert 'data-verdict="broken"' in page
    assert f'data-broken-seq="{events[-1].seq}"' in page
    assert "cut back or emptied" in page
    assert "A head noted outside the database no longer matches" in page


def test_it_says_what_is_wrong_with_a_pasted_head(world, auditor):
    note(world.office)
    response = auditor.post("/audit/verify/", {"expect": "12 abc"})
    page = response.content.decode()
    assert response.status_code == 400
    assert "data-verdict" not in page
    assert "is not a chain head" in html.unescape(page)
    assert 'aria-invalid="true"' in page


def test_it_flags_an_event_whose_shown_time_was_moved(world, auditor):
    event = note(world.office, "problem.edit", after={"n": 1})
    triggers.remove(connection)
    moved = event.at - dt.timedelta(days=3)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET at = %s WHERE seq = %s",
            [connection.ops.adapt_datetimefield_value(moved), event.seq],
        )

    detail = auditor.get(f"/audit/events/{event.seq}/").content.decode()
    assert 'data-link="broken"' in detail
    page = auditor.post("/audit/verify/").content.decode()
    assert f'data-broken-seq="{event.seq}"' in page
    assert "time of event" in page
