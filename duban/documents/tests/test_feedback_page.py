"""The feedback-report page: an office uploads a report, reviews the candidates, creates problems."""

import datetime as dt
import re
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from duban.audit.models import AuditEvent
from duban.ledger.models import Problem

from .test_feedback import docx_bytes

REPORT = [
    "二、存在的主要问题",
    "（一）大气污染防治推进不力",
    "1. 吴兴区部分建筑工地扬尘管控措施落实不到位。",
    "2. 工业园区废气收集处理设施运行不正常。",
    "3. 重污染天气应急减排清单更新不及时。",
    "（二）水污染防治存在差距",
    "1. 南浔区城镇污水管网建设滞后，雨污混接问题突出。",
    "三、整改要求",
    "抓紧研究制定整改方案。",
]


@pytest.fixture
def office(client, world):
    world.office.language = "en"
    world.office.save()
    client.force_login(world.office)
    return client


def upload(client, world, content, name="反馈意见.docx"):
    return client.post(
        reverse("feedback:upload"),
        {"inspection": world.inspection.pk, "file": SimpleUploadedFile(name, content)},
    )


def form_of(response) -> dict:
    """The review form's fields as the browser would send them (without a button)."""
    html = response.content.decode()
    data = {"state": re.search(r'name="state" value="([^"]*)"', html)[1]}
    for name, value in re.findall(r'name="(title-\d+)" value="([^"]*)"', html):
        data[name] = unescape(value)
    for name, value in re.findall(r'name="(text-\d+)" rows="\d+">([^<]*)</textarea>', html, re.S):
        data[name] = unescape(value)
    for name, options in re.findall(r'name="(category-\d+)">(.*?)</select>', html, re.S):
        data[name] = re.search(r'value="(\w+)" selected', options)[1]
    data["deadline"] = re.search(r'name="deadline" value="([^"]*)"', html)[1]
    return data


def step(client, response, op, **changes):
    return client.post(reverse("feedback:review"), {**form_of(response), **changes, "op": op})


def texts(response):
    return [value for key, value in sorted(form_of(response).items()) if key.startswith("text-")]


def test_it_splits_an_uploaded_report_into_candidates_in_order(office, world):
    response = upload(office, world, docx_bytes(REPORT))

    assert response.status_code == 200
    assert texts(response) == [
        "吴兴区部分建筑工地扬尘管控措施落实不到位。",
        "工业园区废气收集处理设施运行不正常。",
        "重污染天气应急减排清单更新不及时。",
        "南浔区城镇污水管网建设滞后，雨污混接问题突出。",
    ]
    html = response.content.decode()
    assert "二（一）1" in html and "二（二）1" in html
    assert "二、存在的主要问题 › （一）大气污染防治推进不力" in html
    # The inspection has no plan due date: the default deadline counts from its feedback date.
    assert form_of(response)["deadline"] == "2026-11-28"


def test_it_merges_splits_drops_and_creates_problems_with_an_audit_event_each(office, world):
    response = upload(office, world, docx_bytes(REPORT))

    merged = step(office, response, "merge-1")
    assert (
        texts(merged)[1]
        == "工业园区废气收集处理设施运行不正常。\n重污染天气应急减排清单更新不及时。"
    )
    split = step(
        office,
        merged,
        "split-0",
        **{"text-0": "吴兴区部分建筑工地扬尘管控不到位。\n---\n运输车辆未冲洗即上路。"},
    )
    assert texts(split)[:2] == ["吴兴区部分建筑工地扬尘管控不到位。", "运输车辆未冲洗即上路。"]
    dropped = step(office, split, "drop-3")
    assert len(texts(dropped)) == 3

    response = step(
        office,
        dropped,
        "create",
        **{"title-2": "工业废气治理不到位", "category-2": "air", "deadline": "2027-03-31"},
    )

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("ledger:problem_list"))
    problems = list(Problem.objects.order_by("pk"))
    assert [p.feedback_text for p in problems] == [
        "吴兴区部分建筑工地扬尘管控不到位。",
        "运输车辆未冲洗即上路。",
        "工业园区废气收集处理设施运行不正常。\n重污染天气应急减排清单更新不及时。",
    ]
    assert [p.ledger_number for p in problems] == [
        "二（一）1-1",
        "二（一）1-2",
        "二（一）2、二（一）3",
    ]
    assert [p.title for p in problems] == [
        "吴兴区部分建筑工地扬尘管控不到位",
        "运输车辆未冲洗即上路",
        "工业废气治理不到位",
    ]
    assert problems[2].category == "air"
    assert {p.region for p in problems} == {world.city}
    assert {p.source for p in problems} == {"feedback"}
    assert {p.deadline for p in problems} == {dt.date(2027, 3, 31)}
    assert {p.inspection for p in problems} == {world.inspection}
    for problem in problems:
        events = AuditEvent.objects.filter(problem_id=problem.pk, action="problem.create")
        assert events.count() == 1


def test_it_creates_nothing_when_one_candidate_fails(office, world):
    response = upload(office, world, docx_bytes(REPORT))

    response = step(office, response, "create", **{"text-3": "   "})

    assert response.status_code == 400
    assert "Candidate 4 has no text." in response.content.decode()
    assert not Problem.objects.exists()
    # The office's edits stay on the page.
    assert form_of(response)["text-3"] == ""


def test_it_asks_for_a_split_mark(office, world):
    response = upload(office, world, docx_bytes(REPORT))

    response = step(office, response, "split-0")

    assert response.status_code == 400
    assert "put a line holding only ---" in response.content.decode()
    assert len(texts(response)) == 4


def test_it_refuses_a_tampered_review_form(office, world):
    response = upload(office, world, docx_bytes(REPORT))
    data = form_of(response)
    payload, _, signature = data["state"].partition(":")
    data["state"] = f"{payload}x:{signature}"

    response = office.post(reverse("feedback:review"), {**data, "op": "create"})

    assert response.status_code == 400
    assert "altered or has expired" in response.content.decode()
    assert not Problem.objects.exists()


def test_it_shows_why_a_file_cannot_be_read(office, world):
    response = upload(office, world, b"%PDF-1.7 truncated", name="反馈意见.pdf")

    assert response.status_code == 400
    assert "The PDF is damaged or truncated." in response.content.decode()
    assert not Problem.objects.exists()


def test_it_says_so_when_a_text_file_poses_as_a_word_document(office, world):
    response = upload(office, world, "一、存在的问题\n".encode(), name="反馈意见.docx")

    assert response.status_code == 400
    assert "its content is plain text, not a Word document" in response.content.decode()


@pytest.mark.parametrize("role", ["liaison", "viewer", "city_acceptor"])
def test_it_is_for_the_office_only(client, world, role):
    client.force_login(getattr(world, role))

    assert client.get(reverse("feedback:upload")).status_code == 403
    assert upload(client, world, docx_bytes(REPORT)).status_code == 403
    assert (
        client.post(reverse("feedback:review"), {"state": "x", "op": "create"}).status_code == 403
    )
    assert not Problem.objects.exists()


def test_the_office_sees_the_upload_form_with_its_inspections(office, world):
    response = office.get(reverse("feedback:upload"))

    assert response.status_code == 200
    assert world.inspection.name in response.content.decode()


def test_the_inspection_page_links_the_office_to_its_documents(office, world):
    late = world.problem(deadline=dt.date.today() - dt.timedelta(days=3))
    world.problem(lead_unit=world.housing, title="按期推进")

    html = office.get(reverse("inspections:detail", args=[world.inspection.pk])).content.decode()

    pk = world.inspection.pk
    for name in ("progress_report_docx", "progress_report_pdf", "public_notice_docx"):
        assert reverse(f"render:{name}", args=[pk]) in html
    assert reverse("render:supervision_notice_pdf", args=[late.lead_unit.pk]) in html
    # Only lead units with overdue problems get a notice.
    assert reverse("render:supervision_notice_pdf", args=[world.housing.pk]) not in html
    assert f"{reverse('feedback:upload')}?inspection={pk}" in html


def test_the_inspection_page_offers_a_liaison_only_the_progress_report(client, world):
    world.problem(deadline=dt.date.today() - dt.timedelta(days=3))
    client.force_login(world.liaison)

    html = client.get(reverse("inspections:detail", args=[world.inspection.pk])).content.decode()

    pk = world.inspection.pk
    assert reverse("render:progress_report_pdf", args=[pk]) in html
    assert reverse("render:public_notice_pdf", args=[pk]) not in html
    assert reverse("render:supervision_notice_pdf", args=[world.eco.pk]) not in html
    assert reverse("feedback:upload") not in html


def test_the_upload_form_preselects_the_inspection_it_was_opened_from(office, world):
    response = office.get(reverse("feedback:upload"), {"inspection": world.inspection.pk})

    assert f'<option value="{world.inspection.pk}" selected>' in response.content.decode()


def test_the_review_step_takes_only_posts(office, world):
    assert office.get(reverse("feedback:review")).status_code == 405


def test_it_refuses_a_pdf_pypdf_cannot_decode_with_a_message(office, world):
    from weasyprint import HTML

    pdf = HTML(string="".join(f"<p>{line}</p>" for line in REPORT)).write_pdf()
    # A stream compressed with a filter no reader knows (a damaged name, as a bad tool writes it).
    odd = pdf.replace(b"/FlateDecode", b"/FlateDecodX", 1)

    response = upload(office, world, odd, name="反馈意见.pdf")

    assert response.status_code == 400
    assert "The PDF is damaged or truncated." in response.content.decode()
    assert not Problem.objects.exists()


def test_it_refuses_a_nul_character_in_a_candidate_with_a_message(office, world):
    response = upload(office, world, docx_bytes(REPORT))

    response = step(office, response, "create", **{"text-1": "扬尘\x00管控"})

    assert response.status_code == 400
    assert "Candidate 2: the text may not contain the NUL character" in response.content.decode()
    assert not Problem.objects.exists()


@pytest.mark.parametrize("deadline", ["9999-12-31", "0001-01-01"])
def test_it_refuses_a_deadline_outside_the_years_an_office_uses(office, world, deadline):
    response = upload(office, world, docx_bytes(REPORT))

    response = step(office, response, "create", deadline=deadline)

    assert response.status_code == 400
    assert "Enter a date from 1900-01-01 to 2100-12-31." in response.content.decode()
    assert not Problem.objects.exists()
