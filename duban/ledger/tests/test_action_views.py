"""The action pages: a problem walked from registration to 销号 through the web UI, and refusals."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from duban.ledger.models import (
    Evidence,
    Extension,
    Problem,
    PublicNotice,
    Signature,
    State,
)

from .flow import Cast, advance, image_bytes, pdf_bytes, problem_in, upload_checklist


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


def action_url(problem, action):
    return reverse("ledger:problem_action", args=[problem.pk, action])


def detail_url(problem):
    return reverse("ledger:problem_detail", args=[problem.pk])


def post(user, problem, action, data=None, status=302):
    response = client_for(user).post(action_url(problem, action), data or {})
    assert response.status_code == status, response.content.decode()[:3000]
    problem.refresh_from_db()
    return response


def jpeg_upload(name="现场照片.jpg"):
    return SimpleUploadedFile(name, image_bytes("JPEG"), content_type="image/jpeg")


def pdf_upload(name="整改报告.pdf"):
    return SimpleUploadedFile(name, pdf_bytes(name), content_type="application/pdf")


def test_it_walks_a_problem_from_registration_to_closed_through_the_pages(world):
    today = timezone.localdate()
    deadline = today + dt.timedelta(days=90)
    office = client_for(world.office)

    # The office registers the problem with every field, then assigns it.
    assert office.get(reverse("ledger:problem_create")).status_code == 200
    response = office.post(
        reverse("ledger:problem_create"),
        {
            "inspection": world.inspection.pk,
            "source": "feedback",
            "ledger_number": "省编号第41号",
            "title": "城区餐饮油烟扰民问题突出",
            "feedback_text": "群众反映城区餐饮油烟扰民，整治不到位。",
            "category": "air",
            "nature": "shared",
            "shared_level": "management",
            "is_key": "on",
            "region": world.wuxing.pk,
            "lead_unit": world.eco.pk,
            "co_units": [world.housing.pk],
            "implementing_units": [world.eco.pk],
            "lead_official": world.lead_official.pk,
            "acceptance_unit": world.wuxing_acceptance.pk,
            "task_force": "张三\n李四",
            "target": "油烟净化设施全部安装到位",
            "measures": f"排查餐饮单位 | 吴兴分局 | {deadline.isoformat()}\n安装净化设施",
            "deadline_kinds": ["immediate", "ongoing", "by_date"],
            "deadline": deadline.isoformat(),
            "milestones": f"{(today + dt.timedelta(days=30)).isoformat()} | 40 | 完成排查",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    problem = Problem.objects.get(ledger_number="省编号第41号")
    assert response.url == detail_url(problem)
    assert problem.deadline_kinds() == ["immediate", "by_date", "ongoing"]
    assert [m.text for m in problem.measures.all()] == ["排查餐饮单位", "安装净化设施"]
    assert list(problem.co_units()) == [world.housing]
    assert problem.milestones.get().percent == 40

    post(world.office, problem, "assign")
    assert problem.state == State.ASSIGNED

    # The liaison claims it and drafts and submits the plan; the office approves it.
    post(world.liaison, problem, "claim")
    post(
        world.liaison,
        problem,
        "save_plan",
        {
            "target": "辖区餐饮油烟达标排放",
            "measures": f"排查餐饮单位 | 吴兴分局 | {deadline.isoformat()}\n安装净化设施 | 城管",
            "milestones": f"{(today + dt.timedelta(days=45)).isoformat()} | 50 | 安装过半",
        },
    )
    assert problem.target == "辖区餐饮油烟达标排放"
    post(world.liaison, problem, "submit_plan")
    assert problem.state == State.PLAN_SUBMITTED
    post(world.office, problem, "approve_plan", {"note": "同意方案"})
    assert problem.state == State.IN_PROGRESS

    # Progress with a photo, and the 整改报告 as evidence.
    measure = problem.measures.first()
    liaison = client_for(world.liaison)
    form = liaison.get(action_url(problem, "report_progress"))
    assert 'capture="environment"' in form.content.decode()
    response = liaison.post(
        action_url(problem, "report_progress"),
        {
            "period": "2026年11月",
            "text": "已排查全部餐饮单位。",
            "percent": "60",
            "evidence_category": "现场照片",
            f"measure_{measure.pk}_note": "排查完成",
            f"measure_{measure.pk}_done": "on",
            "files": [jpeg_upload()],
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    problem.refresh_from_db()
    assert problem.progress_percent == 60
    photo = Evidence.objects.get(problem=problem, category="现场照片")
    assert photo.thumbnail
    measure.refresh_from_db()
    assert measure.done and measure.note == "排查完成"

    response = liaison.post(
        action_url(problem, "upload_evidence"),
        {"category": "整改报告", "title": "整改报告", "files": [pdf_upload()]},
    )
    assert response.status_code == 302, response.content.decode()[:3000]

    # Closing: apply, sign, endorse.
    closing = {"summary": "净化设施全部安装并运行。", "self_check": "经自查，整改到位。"}
    post(world.liaison, problem, "apply_for_closing", closing)
    assert problem.state == State.CLOSING_APPLIED
    sign_page = client_for(world.unit_head).get(action_url(problem, "sign")).content.decode()
    assert "净化设施全部安装并运行。" in sign_page and photo.sha256 in sign_page
    post(world.unit_head, problem, "sign", {"statement": "情况属实，同意销号。"})
    post(world.lead_official, problem, "endorse", {"statement": "同意。"})
    assert problem.state == State.UNDER_ACCEPTANCE

    # The county returns it with reasons; the liaison applies again.
    post(
        world.county_acceptor,
        problem,
        "return",
        {"site_check": "现场仍有油烟", "reasons": "两家餐饮未安装净化设施"},
    )
    assert problem.state == State.IN_PROGRESS
    post(world.liaison, problem, "apply_for_closing", closing)
    post(world.unit_head, problem, "sign", {"statement": "已补齐，同意销号。"})
    post(world.lead_official, problem, "endorse", {"statement": "同意。"})

    # Both levels accept; the public notice opens.
    post(world.county_acceptor, problem, "accept", {"site_check": "县级初验合格"})
    assert problem.state == State.UNDER_ACCEPTANCE and problem.acceptance_level == 1
    post(world.city_acceptor, problem, "accept", {"site_check": "市级验收合格"})
    assert problem.state == State.PUBLIC_NOTICE

    # Ending the notice early is refused with the reason; after the period it closes.
    response = post(world.office, problem, "end_notice", status=400)
    notice = PublicNotice.objects.get(problem=problem)
    assert "public notice runs until" in response.content.decode()
    assert notice.ends_on.isoformat() in response.content.decode()
    assert problem.state == State.PUBLIC_NOTICE
    # The notice ran its days (moved into the past: it cannot end before it starts).
    PublicNotice.objects.filter(pk=notice.pk).update(
        starts_on=today - dt.timedelta(days=8), ends_on=today - dt.timedelta(days=1)
    )
    post(world.office, problem, "end_notice")
    assert problem.state == State.CLOSED

    page = office.get(detail_url(problem)).content.decode()
    for step in [
        "problem.create",
        "assign",
        "claim",
        "plan.save",
        "plan.submit",
        "plan.approve",
        "progress.report",
        "evidence.upload",
        "closing.apply",
        "closing.sign",
        "closing.endorse",
        "acceptance.return",
        "acceptance.accept",
        "notice.open",
        "close",
    ]:
        assert f'data-action="{step}"' in page, step
    assert "两家餐饮未安装净化设施" in page  # the return's reasons stay in the history
    assert "Returned by acceptance" in page and "Closed (销号)" in page
    assert world.county_acceptor.display_name in page


def test_it_answers_404_for_a_problem_outside_the_users_scope_on_action_pages(world):
    problem = problem_in(world, State.ASSIGNED)
    for user in (world.other_liaison, world.outsider, world.auditor):
        client = client_for(user)
        assert client.get(action_url(problem, "claim")).status_code == 404
        assert client.post(action_url(problem, "claim")).status_code == 404
    problem.refresh_from_db()
    assert problem.state == State.ASSIGNED


def test_it_answers_404_for_an_unknown_action(world):
    problem = world.problem()
    assert client_for(world.office).get(action_url(problem, "teleport")).status_code == 404


def test_it_refuses_a_liaison_approving_a_plan_with_403_and_the_reason(world):
    problem = problem_in(world, State.PLAN_SUBMITTED)
    response = post(world.liaison, problem, "approve_plan", {"note": "自己批准"}, status=403)
    assert "You have no role that may do this" in response.content.decode()
    assert problem.state == State.PLAN_SUBMITTED


def test_it_rejects_a_text_file_named_jpg_and_stores_nothing(world, media_root):
    problem = problem_in(world, State.IN_PROGRESS)
    before = {p for p in media_root.rglob("*") if p.is_file()}
    response = client_for(world.liaison).post(
        action_url(problem, "upload_evidence"),
        {
            "category": "现场照片",
            "title": "现场",
            "files": [SimpleUploadedFile("现场.jpg", b"just some text, not a photo\n")],
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "现场.jpg is not a photo, PDF, Word, Excel or MP4 file" in page
    assert 'value="现场"' in page  # the title is kept
    assert not Evidence.objects.filter(problem=problem).exists()
    assert {p for p in media_root.rglob("*") if p.is_file()} == before


def test_it_shows_missing_materials_and_blocks_the_closing_application(world):
    problem = problem_in(world, State.IN_PROGRESS)
    liaison = client_for(world.liaison)
    page = liaison.get(action_url(problem, "apply_for_closing")).content.decode()
    assert "整改报告" in page and "现场照片" in page
    response = post(
        world.liaison,
        problem,
        "apply_for_closing",
        {"summary": "已完成", "self_check": "经自查已完成"},
        status=400,
    )
    assert "Materials still missing from the evidence catalogue" in response.content.decode()
    assert "经自查已完成" in response.content.decode()  # input kept
    assert problem.state == State.IN_PROGRESS


def test_it_keeps_the_input_and_names_the_field_when_an_action_needs_more(world):
    problem = problem_in(world, State.PLAN_SUBMITTED)
    response = post(world.office, problem, "reject_plan", {"reasons": "  "}, status=400)
    assert "This field is required." in response.content.decode()
    assert problem.state == State.PLAN_SUBMITTED


def test_it_voids_the_signature_when_the_application_is_edited(world):
    problem = problem_in(world, State.CLOSING_APPLIED)
    post(world.unit_head, problem, "sign", {"statement": "同意销号。"})
    edit_page = client_for(world.liaison).get(action_url(problem, "edit_application"))
    assert "已全部拆除。" in edit_page.content.decode()  # prefilled
    post(
        world.liaison,
        problem,
        "edit_application",
        {"summary": "已全部拆除并复查。", "self_check": "经自查，已完成整改。"},
    )
    signature = Signature.objects.get(application__problem=problem)
    assert signature.voided_at is not None
    page = client_for(world.unit_head).get(detail_url(problem)).content.decode()
    assert 'class="signature voided"' in page and "Voided" in page
    # The unit head may sign again: the button is back.
    assert 'data-action="sign"' in page


def test_it_requests_and_approves_an_extension_and_keeps_both_deadlines(world):
    problem = problem_in(world, State.IN_PROGRESS)
    old = problem.deadline
    new = old + dt.timedelta(days=60)
    post(
        world.liaison,
        problem,
        "request_extension",
        {
            "reasons": "设备采购周期长",
            "efforts": "已完成招标",
            "new_deadline": new.isoformat(),
            "roadmap": "两个月内安装调试",
        },
    )
    office = client_for(world.office)
    page = office.get(detail_url(problem)).content.decode()
    assert 'data-action="decide_extension"' in page
    decide_page = office.get(action_url(problem, "decide_extension")).content.decode()
    assert "设备采购周期长" in decide_page
    post(world.office, problem, "decide_extension", {"decision": "approve", "note": "同意"})
    assert problem.deadline == new and problem.original_deadline == old
    assert Extension.objects.get(problem=problem).status == "approved"
    page = office.get(detail_url(problem)).content.decode()
    assert old.isoformat() in page and new.isoformat() in page
    assert "Original deadline" in page


def test_it_splits_a_problem_and_the_parent_lists_its_children(world):
    problem = world.problem(region=world.city, title="全市燃煤锅炉淘汰不到位")
    response = post(
        world.office,
        problem,
        "split",
        {"child_1_unit": world.housing.pk, "child_1_title": "南浔区燃煤锅炉淘汰"},
    )
    assert response.url == detail_url(problem)
    child = problem.children.get()
    assert child.lead_unit == world.housing and child.state == State.ASSIGNED
    page = client_for(world.office).get(detail_url(problem)).content.decode()
    assert "南浔区燃煤锅炉淘汰" in page and "closes only when every child is closed" in page


def test_it_refuses_a_split_row_without_a_unit(world):
    problem = world.problem()
    response = post(world.office, problem, "split", {"child_1_title": "无单位"}, status=400)
    assert "Choose the lead unit of this child." in response.content.decode()
    assert not problem.children.exists()


def test_it_shows_accept_only_to_the_acceptor_of_the_current_level(world):
    problem = problem_in(world, State.UNDER_ACCEPTANCE)
    county = client_for(world.county_acceptor).get(detail_url(problem)).content.decode()
    city = client_for(world.city_acceptor).get(detail_url(problem)).content.decode()
    assert 'data-action="accept"' in county
    assert 'data-action="accept"' not in city
    response = post(world.city_acceptor, problem, "accept", {"site_check": "合格"}, status=403)
    assert "only acceptors of that level decide it" in response.content.decode()


def test_it_lets_the_unit_head_mark_evidence_as_reviewed(world):
    problem = problem_in(world, State.IN_PROGRESS)
    upload_checklist(problem, Cast(world))
    evidence = problem.evidence.first()
    url = reverse("ledger:evidence_review", args=[evidence.pk])
    assert client_for(world.liaison).post(url).status_code == 403
    assert client_for(world.other_liaison).post(url).status_code == 404
    response = client_for(world.unit_head).post(url)
    assert response.status_code == 302
    evidence.refresh_from_db()
    assert evidence.reviewed_by == world.unit_head
    assert client_for(world.unit_head).get(url).status_code == 405


def test_it_shows_the_right_buttons_for_each_role(world):
    problem = advance(world.problem(), Cast(world), State.ASSIGNED)
    liaison_page = client_for(world.liaison).get(detail_url(problem)).content.decode()
    office_page = client_for(world.office).get(detail_url(problem)).content.decode()
    viewer_page = client_for(world.viewer).get(detail_url(problem)).content.decode()
    assert 'data-action="claim"' in liaison_page
    assert 'data-action="claim"' not in office_page
    assert 'data-action="edit"' in office_page
    assert "data-action=" not in viewer_page.split('id="timeline"')[0]
