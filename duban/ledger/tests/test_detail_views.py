"""The problem detail page, the problem form, and the evidence files it links to."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from duban.ledger import actions
from duban.ledger.models import Problem, State

from .flow import Cast, advance, jpeg, pdf, problem_in


@pytest.fixture
def world(world):
    # Pages in English, so the assertions read the msgids whatever the translation says.
    for user in world.users.values():
        user.language = "en"
        user.save(update_fields=["language"])
    return world


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def detail_url(problem):
    return reverse("ledger:problem_detail", args=[problem.pk])


def with_files(world):
    """A problem in progress with a photo (现场照片) and a PDF report (整改报告)."""
    problem = problem_in(world, State.IN_PROGRESS)
    photo = actions.upload_evidence(problem, by=world.liaison, files=[jpeg()], category="现场照片")[
        0
    ]
    report = actions.upload_evidence(
        problem, by=world.liaison, files=[pdf()], category="整改报告", title="整改报告"
    )[0]
    return problem, photo, report


def test_it_shows_the_header_fields_plan_and_timeline(world):
    problem = problem_in(world, State.IN_PROGRESS, ledger_number="第9号", task_force="王五\n赵六")
    page = client_for(world.office).get(detail_url(problem))
    assert page.status_code == 200
    html = page.content.decode()
    assert "第9号" in html and problem.title in html
    assert "state-in_progress" in html and "light-" in html  # state badge and pace light
    assert problem.deadline.isoformat() in html
    assert 'role="progressbar"' in html
    assert "逐家拆除" in html  # the plan's measure
    assert "王五、赵六" in html
    assert problem.feedback_text in html
    for step in ("problem.create", "assign", "claim", "plan.save", "plan.submit", "plan.approve"):
        assert f'data-action="{step}"' in html
    assert "Plan approved" in html and "Rectification office staff" in html


def test_it_shows_the_evidence_catalogue_with_thumbnails_and_the_missing_materials(world):
    problem = problem_in(world, State.IN_PROGRESS)
    actions.upload_evidence(problem, by=world.liaison, files=[jpeg()], category="现场照片")
    html = client_for(world.liaison).get(detail_url(problem)).content.decode()
    photo = problem.evidence.get()
    assert reverse("ledger:evidence_thumbnail", args=[photo.pk]) in html
    assert photo.sha256[:12] in html
    assert "still missing" in html and "整改报告" in html
    assert "required · missing" in html and "required · present" in html


def test_it_lists_every_required_material_as_present_once_uploaded(world):
    problem, _photo, _report = with_files(world)
    html = client_for(world.liaison).get(detail_url(problem)).content.decode()
    assert "still missing" not in html
    assert "Every material the closing checklist requires is present." in html


def test_it_shows_signatures_reviews_and_the_notice(world):
    problem = problem_in(world, State.PUBLIC_NOTICE)
    html = client_for(world.office).get(detail_url(problem)).content.decode()
    signature = problem.closing_applications.get().signatures.first()
    assert signature.statement in html and signature.content_hash[:12] in html
    assert "Unit head signature" in html and "Lead official endorsement" in html
    assert "County initial check" in html and "City acceptance" in html
    notice = actions.open_notice(problem)
    assert notice.ends_on.isoformat() in html
    assert 'data-action="end_notice"' in html and 'data-action="record_objection"' in html


def test_it_downloads_evidence_as_an_attachment_with_its_original_name(world):
    problem, photo, report = with_files(world)
    response = client_for(world.unit_head).get(
        reverse("ledger:evidence_download", args=[report.pk])
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert (
        "filename*=utf-8''%E6%95%B4%E6%94%B9%E6%8A%A5%E5%91%8A.pdf"
        in response["Content-Disposition"]
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_it_serves_a_jpeg_thumbnail_for_photos_only(world):
    problem, photo, report = with_files(world)
    client = client_for(world.office)
    response = client.get(reverse("ledger:evidence_thumbnail", args=[photo.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content)[:3] == b"\xff\xd8\xff"
    assert client.get(reverse("ledger:evidence_thumbnail", args=[report.pk])).status_code == 404


def test_it_answers_404_outside_the_users_scope_for_the_page_and_the_files(world):
    problem, photo, report = with_files(world)
    urls = [
        detail_url(problem),
        reverse("ledger:problem_edit", args=[problem.pk]),
        reverse("ledger:evidence_download", args=[report.pk]),
        reverse("ledger:evidence_thumbnail", args=[photo.pk]),
    ]
    for user in (world.other_liaison, world.outsider, world.auditor, world.sysadmin):
        client = client_for(user)
        for url in urls:
            assert client.get(url).status_code == 404, (user, url)
        assert (
            client.post(
                reverse("ledger:problem_action", args=[problem.pk, "report_progress"]),
                {"period": "11月", "text": "x", "percent": "50"},
            ).status_code
            == 404
        )
        assert client.post(reverse("ledger:evidence_review", args=[photo.pk])).status_code == 404
    assert Problem.objects.get(pk=problem.pk).progress_percent == 0


def test_it_sends_anonymous_visitors_to_the_login_page(world):
    problem = world.problem()
    response = Client().get(detail_url(problem))
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_it_shows_a_parent_with_its_childrens_states(world):
    parent = world.problem(region=world.city, title="全市燃煤锅炉淘汰不到位")
    children = actions.split_problem(
        parent, by=world.office, children=[{"lead_unit": world.eco, "title": "吴兴区锅炉淘汰"}]
    )
    advance(children[0], Cast(world), State.CLAIMED)
    html = client_for(world.office).get(detail_url(parent)).content.decode()
    assert "吴兴区锅炉淘汰" in html and "state-claimed" in html
    assert "1 child is still open." in html
    child_html = client_for(world.liaison).get(detail_url(children[0])).content.decode()
    assert detail_url(parent) in child_html or "全市燃煤锅炉淘汰不到位" in child_html


# --- the problem form -----------------------------------------------------------------------


def test_it_refuses_the_problem_form_to_anyone_but_the_office(world):
    for user in (world.liaison, world.viewer, world.outsider):
        assert client_for(user).get(reverse("ledger:problem_create")).status_code == 403


def test_it_limits_the_forms_choices_to_the_offices_region(world):
    from duban.org.models import Region, Unit, UnitKind

    hangzhou = Region.objects.create(
        code="330100", name="杭州市", level="city", parent=world.city.parent
    )
    Unit.objects.create(name="杭州市生态环境局", kind=UnitKind.DEPARTMENT, region=hangzhou)
    html = client_for(world.office).get(reverse("ledger:problem_create")).content.decode()
    assert "湖州市生态环境局吴兴分局" in html
    assert "杭州市生态环境局" not in html and "杭州市" not in html


def test_it_shows_row_level_errors_and_keeps_the_input(world):
    response = client_for(world.office).post(
        reverse("ledger:problem_create"),
        {
            "inspection": world.inspection.pk,
            "source": "feedback",
            "title": "河道黑臭",
            "feedback_text": "河道黑臭问题未解决。",
            "category": "water",
            "nature": "individual",
            "region": world.wuxing.pk,
            "lead_unit": world.eco.pk,
            "measures": "清淤 | 水利局 | 2026-12-31\n截污纳管 | 住建局 | 下个月",
            "milestones": "2026-12-01 | 一半 | 完成清淤",
            "deadline_kinds": ["by_date"],
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Line 2: “下个月” is not a date like 2026-12-31." in html
    assert "Line 1: “一半” is not a percentage from 0 to 100." in html
    assert "截污纳管 | 住建局 | 下个月" in html and 'value="河道黑臭"' in html
    assert not Problem.objects.filter(title="河道黑臭").exists()


def test_it_shows_the_actions_own_message_next_to_the_deadline(world):
    response = client_for(world.office).post(
        reverse("ledger:problem_create"),
        {
            "inspection": world.inspection.pk,
            "source": "feedback",
            "title": "河道黑臭",
            "feedback_text": "河道黑臭问题未解决。",
            "category": "water",
            "nature": "individual",
            "region": world.wuxing.pk,
            "deadline_kinds": ["by_date"],
        },
    )
    assert response.status_code == 400
    assert "A problem to finish by a date needs its deadline." in response.content.decode()


def test_it_edits_a_problem_and_records_the_change(world):
    problem = world.problem()
    client = client_for(world.office)
    url = reverse("ledger:problem_edit", args=[problem.pk])
    form = client.get(url)
    assert form.status_code == 200 and "全面排查燃煤锅炉" in form.content.decode()
    new_deadline = problem.deadline + dt.timedelta(days=10)
    response = client.post(
        url,
        {
            "source": problem.source,
            "ledger_number": problem.ledger_number,
            "title": "燃煤小锅炉淘汰不到位（修订）",
            "feedback_text": problem.feedback_text,
            "category": "air",
            "nature": "individual",
            "region": world.wuxing.pk,
            "lead_unit": world.eco.pk,
            "lead_official": world.lead_official.pk,
            "measures": "全面排查燃煤锅炉 | 吴兴区生态环境分局",
            "deadline_kinds": ["immediate", "by_date"],
            "deadline": new_deadline.isoformat(),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    problem.refresh_from_db()
    assert problem.title == "燃煤小锅炉淘汰不到位（修订）"
    assert problem.deadline_immediate and problem.deadline == new_deadline
    html = client.get(detail_url(problem)).content.decode()
    assert 'data-action="problem.edit"' in html and "Changed:" in html


def test_it_refuses_editing_a_closed_problem(world):
    problem = problem_in(world, State.CLOSED)
    response = client_for(world.office).get(reverse("ledger:problem_edit", args=[problem.pk]))
    assert response.status_code == 400
