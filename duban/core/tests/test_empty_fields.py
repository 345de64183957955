"""Every page, API read and download, with every optional field left empty.

Optional fields are normal: the office registers a problem with only its title, feedback
text and region, adds an inspection without dates, a unit without a short name, a user
without a display name. A page that reaches through one of them (``lead_unit.name`` when
there is no lead unit) answers 500 to everyone who can see the object. This walks the URL
resolver and the API's route inventory, as every role of the shared world, over objects
whose optional fields are empty, and fails on any server error.
"""

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse

from duban.accounts.models import ApiToken, User
from duban.core.tests.test_route_matrix import (
    OBJECT_KINDS,
    PAGE_DECISIONS,
    _api_routes,
    _page_routes,
    _supervision_scene,
)
from duban.inspections.models import Inspection
from duban.ledger import actions
from duban.ledger.models import State
from duban.ledger.tests.flow import member, png
from duban.org.models import Role, Unit, UnitKind

TODAY = dt.date.today()


def _bare_problem(world, inspection, **fields):
    """Registered with only what the form requires: title, feedback text, region, a deadline kind."""
    values = {
        "feedback_text": "督察发现，河道沿岸仍有垃圾堆放。",
        "title": "河道垃圾清理不到位",
        "region": world.wuxing,
        "deadline_by_date": False,
        "deadline_ongoing": True,
    }
    values.update(fields)
    return actions.create_problem(by=world.office, inspection=inspection, fields=values)


def _walk_to_closed(problem, world):
    """As far through its life as the actions allow, with nothing optional filled in."""
    actions.assign(problem, by=world.office)
    actions.claim(problem, by=world.liaison)
    actions.save_plan(
        problem,
        by=world.liaison,
        target="清理完毕",
        measures=[actions.MeasureInput("清理垃圾")],
        milestones=[],
    )
    actions.submit_plan(problem, by=world.liaison)
    actions.approve_plan(problem, by=world.office)
    actions.report_progress(problem, by=world.liaison, period="第一周", text="已清理", percent=100)
    actions.apply_for_closing(problem, by=world.liaison, summary="已清理。", self_check="属实。")
    actions.sign(problem, by=world.unit_head, statement="同意。")
    for acceptor in (world.county_acceptor, world.city_acceptor):
        actions.accept(problem, by=acceptor, site_check="已核查。")
    notice = actions.open_notice(problem)
    actions.end_notice(problem, by=world.office, today=notice.ends_on + dt.timedelta(days=1))
    problem.refresh_from_db()
    assert problem.state == State.CLOSED
    return problem


def _sweep_over_late_problems(world, inspection) -> list[str]:
    """Every sweep rule over late problems without lead official, measures' owners or short
    names, from before their deadline to the last rung of the ladder: the rules that failed."""
    from duban.escalation.models import SupervisionNotice
    from duban.escalation.tests.support import at, first_of_next_month
    from duban.supervision.sweep import failed_rules, run_sweep

    deadline = TODAY - dt.timedelta(days=70)
    late = _bare_problem(
        world, inspection, title="逾期未改", deadline_by_date=True, deadline=deadline
    )
    actions.update_problem(late, by=world.office, fields={"lead_unit": world.eco})
    actions.assign(late, by=world.office)
    # Registered late, without a lead unit: nobody to send it to yet.
    _bare_problem(world, inspection, title="逾期未交办", deadline_by_date=True, deadline=deadline)
    failed = []
    moments = [deadline - dt.timedelta(days=7), deadline + dt.timedelta(days=1)]
    for moment in moments:
        failed += failed_rules(run_sweep(at(moment)))
    notice = SupervisionNotice.objects.filter(problems=late).get()
    after_ack = notice.ack_due + dt.timedelta(days=1)
    for moment in (after_ack, first_of_next_month(after_ack), TODAY + dt.timedelta(days=20)):
        failed += failed_rules(run_sweep(at(moment)))
    return failed


@pytest.fixture
def empty(world, media_root, settings, django_capture_on_commit_callbacks):
    """Objects of every kind with their optional fields empty, and the world's people bare.

    Notifications go out after commit, as in use; robots are refused their host, so a
    delivery composes its message and fails without the network.
    """
    settings.DUBAN_NOTIFY_ROBOT_HOSTS = []
    settings.EMAIL_HOST = "mail.example"  # pytest-django keeps the mail in memory
    with django_capture_on_commit_callbacks(execute=True):
        return _build_empty(world)


def _build_empty(world):
    from django.core.files.base import ContentFile

    from duban.documents.models import ExportJob, ImportJob
    from duban.escalation import actions as escalation
    from duban.escalation.models import (
        AccountabilityRecord,
        Circular,
        Interview,
        SupervisionNotice,
    )
    from duban.lookback import actions as lookback
    from duban.notify.actions import notify
    from duban.notify.models import Notification, Preference, Robot

    # A group robot without a name or secret, there before anything happens.
    robot = Robot.objects.create(
        unit=world.eco, kind=Robot.Kind.DINGTALK, webhook="https://oapi.dingtalk.com/robot/send"
    )
    # The unit's people hear of everything by mail and the robot, one of them in a digest.
    User.objects.filter(pk=world.liaison.pk).update(email="liaison@example.org")
    world.liaison.refresh_from_db()
    Preference.objects.create(user=world.liaison, email=True, robot=True)
    Preference.objects.create(user=world.unit_head, robot=True, digest=True)
    scene = _supervision_scene(world)
    inspection = Inspection.objects.create(
        code="bare-self",
        name="自查",
        kind="self",
        target_region=world.city,
        closing_checklist=[],
        reminder_days=[],
    )
    bare = _bare_problem(world, inspection)
    immediate = _bare_problem(
        world, inspection, title="立行立改", deadline_ongoing=False, deadline_immediate=True
    )
    led = _bare_problem(world, inspection, title="仅有牵头单位", lead_unit=world.eco)
    # Split without a number, lead unit or child title: the child takes what there is.
    [child] = actions.split_problem(immediate, by=world.office, children=[{"lead_unit": world.eco}])
    closed = _walk_to_closed(
        _bare_problem(world, inspection, title="走完一生", lead_unit=world.eco), world
    )
    # An open problem with an open closing application, an extension asked without a
    # deadline before it, and a file without a title or photo time.
    applied = _bare_problem(world, inspection, title="申请销号中", lead_unit=world.eco)
    actions.assign(applied, by=world.office)
    actions.claim(applied, by=world.liaison)
    actions.save_plan(
        applied,
        by=world.liaison,
        target="清理",
        measures=[actions.MeasureInput("清理")],
        milestones=[],
    )
    actions.submit_plan(applied, by=world.liaison)
    actions.approve_plan(applied, by=world.office)
    extension = actions.request_extension(
        applied,
        by=world.liaison,
        reasons="汛期",
        efforts="已排查",
        new_deadline=TODAY + dt.timedelta(days=90),
        roadmap="年底前",
    )
    evidence = actions.upload_evidence(
        applied, by=world.liaison, category="现场照片", files=[png("照片.png")]
    )[0]
    draw = lookback.create_draw(by=world.office, inspection=inspection, seed="empty", size=1)
    sweep_failures = _sweep_over_late_problems(world, inspection)
    escalation.create_record(
        by=world.discipline,
        data=escalation.RecordInput(region=world.city, measure="other", person_name="某某"),
    )
    notify([world.liaison], kind="empty", key="empty", title="通知", channels=False)
    exports = [
        ExportJob.objects.create(requested_by=world.office, filename="台账.xlsx"),
        ExportJob.objects.create(
            requested_by=world.office,
            filename="空台账.xlsx",
            status=ExportJob.Status.DONE,
            result={"count": 0},
            file=ContentFile(b"PK", name="empty.xlsx"),
        ),
    ]
    import_job = ImportJob.objects.create(
        file=ContentFile("序号,反馈问题\n".encode(), name="清单.csv"),
        original_name="清单.csv",
        inspection=inspection,
        uploaded_by=world.office,
        region=world.city,
    )
    # A unit without a short name, and people without a display name.
    bare_unit = Unit.objects.create(
        name="吴兴区水利局", kind=UnitKind.DEPARTMENT, region=world.wuxing
    )
    bare_liaison = member("bare_liaison", bare_unit, Role.LIAISON)
    Unit.objects.update(short_name="")
    User.objects.update(display_name="")
    users = {**world.users, "bare_liaison": bare_liaison}
    return {
        "sweep_failures": sweep_failures,
        "closed": closed,
        "users": users,
        "problem": [bare, immediate, child, led, closed, applied, scene["lookback_check"].problem],
        "evidence": [evidence, scene["check_evidence"]],
        "extension": [extension],
        "inspection": [inspection, world.inspection],
        "unit": list(Unit.objects.all()),
        "account": list(users.values()),
        "event": [None],
        "import_job": [import_job],
        "export_job": exports,
        "notification": list(Notification.objects.all()),
        "robot": [robot, scene["robot"]],
        # The scene's, and those the sweeps made of the bare late problem (a draft circular).
        "notice": list(SupervisionNotice.objects.all()),
        "circular": list(Circular.objects.all()),
        "interview": list(Interview.objects.all()),
        "accountability": list(AccountabilityRecord.objects.all()),
        "lookback_draw": [draw, scene["lookback_draw"]],
        "lookback_check": [draw.checks.get(), scene["lookback_check"]],
        "check_evidence": scene["check_evidence"],
    }


def _object_kind(name: str, pattern) -> str | None:
    if name.startswith("render:supervision_notice"):
        return "unit"
    kind = PAGE_DECISIONS[name]
    return kind if kind in OBJECT_KINDS else "problem"


def _page_paths(empty, username, user):
    """Every page route as `user` would open it, filled with each empty object of its kind.

    Audit events are walked in full by the auditor (the only reader); an action page for each
    action the user may take on the problem, and one they may not. A PDF is the same file
    whoever reads it, and the slowest page: the office reads them all.
    """
    from duban.audit.models import AuditEvent

    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    for name, pattern in _page_routes():
        if name == "logout":  # the walk goes on logged in
            continue
        if name.endswith("_pdf") and username != "office":
            continue
        converters = pattern.pattern.converters
        if not converters:
            yield reverse(name)
            continue
        if "seq" in converters:
            for seq in seqs if username == "auditor" else seqs[:1]:
                yield reverse(name, kwargs={"seq": seq})
            continue
        for obj in empty[_object_kind(name, pattern)]:
            kwargs = {"pk": obj.pk}
            if "evidence_pk" in converters:
                kwargs["evidence_pk"] = empty["check_evidence"].pk
            if "membership_pk" in converters:
                membership = obj.memberships.first()
                if membership is None:
                    continue
                kwargs["membership_pk"] = membership.pk
            if "action" in converters:
                allowed = {t.name for t in actions.allowed_actions(obj, user)}
                for action in sorted(allowed | {"claim"}):
                    yield reverse(name, kwargs={**kwargs, "action": action})
                continue
            yield reverse(name, kwargs=kwargs)


def _server_errors(client, paths, method="get") -> list[str]:
    errors = []
    for path in paths:
        response = getattr(client, method)(path)
        if response.status_code >= 500:
            cause = response.exc_info[1] if response.exc_info else ""
            errors.append(f"{path} → {response.status_code} {cause!r}")
    return errors


def test_every_page_renders_for_every_role_with_every_optional_field_empty(world, empty):
    inspection = empty["inspection"][0]
    # Lists and the ledger export with filters that name the empty objects.
    filtered = [
        reverse("ledger:problem_list") + "?sort=deadline",
        reverse("ledger:problem_list") + "?sort=-number",
        reverse("ledger:problem_list") + f"?inspection={inspection.code}",
        reverse("documents:ledger_export") + f"?inspection={inspection.code}",
    ]
    errors = []
    for username, user in empty["users"].items():
        client = Client(raise_request_exception=False)
        client.force_login(user)
        paths = [*_page_paths(empty, username, user), *filtered]
        errors += [f"{username} GET {e}" for e in _server_errors(client, paths)]
    assert errors == [], "\n".join(errors)

    # Not only no error: the office reads the bare objects and their documents.
    office = Client()
    office.force_login(world.office)
    closed = empty["closed"]
    reads = [reverse("ledger:problem_detail", args=[p.pk]) for p in empty["problem"]] + [
        reverse("ledger:problem_list"),
        reverse("documents:ledger_export"),
        reverse("render:closing_record_docx", args=[closed.pk]),
        reverse("render:closing_record_pdf", args=[closed.pk]),
        reverse("render:progress_report_docx", args=[inspection.pk]),
        reverse("render:public_notice_pdf", args=[inspection.pk]),
        reverse("inspections:detail", args=[inspection.pk]),
        reverse("lookback:draw_detail", args=[empty["lookback_draw"][0].pk]),
    ]
    assert {path: office.get(path).status_code for path in reads} == dict.fromkeys(reads, 200)


def _api_paths(empty):
    values = {
        "problem_id": [p.pk for p in empty["problem"]],
        "evidence_id": [e.pk for e in empty["evidence"]],
        "extension_id": [e.pk for e in empty["extension"]],
        "name": ["claim"],
    }
    for method, template in _api_routes():
        if method != "GET":
            continue
        names = re.findall(r"\{([^}]+)\}", template)
        if not names:
            yield template
            continue
        (name,) = names
        for value in values[name]:
            yield template.replace("{" + name + "}", str(value))


def test_every_api_read_answers_for_every_role_with_every_optional_field_empty(world, empty):
    paths = list(_api_paths(empty))
    errors = []
    for username, user in empty["users"].items():
        _, key = ApiToken.issue(user, "empty")
        client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {key}")
        errors += [f"{username} GET {e}" for e in _server_errors(client, paths)]
    assert errors == [], "\n".join(errors)


def test_every_sweep_rule_runs_over_problems_with_every_optional_field_empty(empty):
    from duban.notify.models import Delivery

    assert empty["sweep_failures"] == []
    # Each message was composed; what failed is only the send, refused without a network.
    errors = set(Delivery.objects.exclude(last_error="").values_list("last_error", flat=True))
    assert errors <= {"robot host 'oapi.dingtalk.com' is not in DUBAN_NOTIFY_ROBOT_HOSTS"}
    assert Delivery.objects.filter(robot__isnull=False).exists()
    assert Delivery.objects.filter(channel="email", status="sent").exists()


def test_a_child_of_an_unnumbered_problem_is_unnumbered_too(world):
    parent = world.problem(ledger_number="", lead_unit=None)
    [child] = actions.split_problem(parent, by=world.office, children=[{"lead_unit": world.eco}])
    assert (child.ledger_number, child.title) == ("", parent.title)


def test_an_assigned_problem_keeps_a_lead_unit_while_a_registered_one_may_drop_it(world):
    """Its liaison and head reach an assigned problem through its lead unit: no unit, nobody."""
    assigned = world.problem()
    actions.assign(assigned, by=world.office)
    with pytest.raises(actions.InvalidInput) as refused:
        actions.update_problem(assigned, by=world.office, fields={"lead_unit": None})
    assert refused.value.field == "lead_unit"
    assigned.refresh_from_db()
    assert assigned.lead_unit == world.eco

    registered = world.problem(title="尚未交办")
    actions.update_problem(registered, by=world.office, fields={"lead_unit": None})
    registered.refresh_from_db()
    assert registered.lead_unit is None
