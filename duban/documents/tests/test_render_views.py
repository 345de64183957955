"""Downloading documents from the pages, and `duban render_document`, within each user's scope."""

import datetime as dt
from urllib.parse import quote

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from duban.ledger.tests.flow import problem_in

from .render_support import docx_table_rows, docx_text, pdf_text

TODAY = dt.date.today()


def client_for(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def applied(world):
    return problem_in(world, "under_acceptance", ledger_number="第3号", title="河道垃圾清理")


def test_the_office_downloads_the_closing_record_as_an_attachment(client, world, applied):
    response = client_for(client, world.office).get(
        reverse("render:closing_record_docx", args=[applied.pk])
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=utf-8''{quote('销号审批表-第3号.docx')}" in disposition
    text = docx_text(response.content)
    assert "第3号" in text and "河道垃圾清理" in text and "unit_head" in text


def test_the_lead_unit_gets_the_closing_record_as_pdf(client, world, applied):
    response = client_for(client, world.liaison).get(
        reverse("render:closing_record_pdf", args=[applied.pk])
    )

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "河道垃圾清理" in pdf_text(response.content)


def test_the_problem_page_links_the_closing_record(client, world, applied):
    page = client_for(client, world.office).get(reverse("ledger:problem_detail", args=[applied.pk]))

    assert reverse("render:closing_record_docx", args=[applied.pk]) in page.content.decode()
    assert reverse("render:closing_record_pdf", args=[applied.pk]) in page.content.decode()


@pytest.mark.parametrize("who", ["other_liaison", "outsider", "auditor"])
def test_nobody_outside_the_scope_learns_the_closing_record_exists(client, world, applied, who):
    response = client_for(client, getattr(world, who)).get(
        reverse("render:closing_record_docx", args=[applied.pk])
    )

    assert response.status_code == 404


def test_a_problem_without_a_closing_application_has_no_closing_record(client, world):
    problem = world.problem()

    response = client_for(client, world.office).get(
        reverse("render:closing_record_docx", args=[problem.pk])
    )

    assert response.status_code == 404


def test_the_office_issues_the_supervision_notice_of_a_unit(client, world):
    world.problem(
        ledger_number="第7号", title="餐饮油烟直排", deadline=TODAY - dt.timedelta(days=4)
    )

    response = client_for(client, world.office).get(
        reverse("render:supervision_notice_docx", args=[world.eco.pk])
    )

    assert response.status_code == 200
    rows = docx_table_rows(response.content)
    assert [row[1:3] + [row[4]] for row in rows if "第7号" in row] == [
        ["第7号", "餐饮油烟直排", "4"]
    ]


def test_an_office_learns_nothing_of_a_unit_outside_its_region(client, world):
    from duban.org.models import Region, Unit, UnitKind

    hangzhou = Region.objects.create(
        code="330100", name="杭州市", level="city", parent=world.city.parent
    )
    elsewhere = Unit.objects.create(name="杭州市住建局", kind=UnitKind.DEPARTMENT, region=hangzhou)
    office = client_for(client, world.office)

    outside = office.get(reverse("render:supervision_notice_docx", args=[elsewhere.pk]))
    missing = office.get(reverse("render:supervision_notice_docx", args=[elsewhere.pk + 1000]))

    assert outside.status_code == missing.status_code == 404
    assert outside.content == missing.content


@pytest.mark.parametrize("who", ["liaison", "unit_head", "viewer", "discipline"])
def test_only_the_office_issues_supervision_notices(client, world, who):
    response = client_for(client, getattr(world, who)).get(
        reverse("render:supervision_notice_docx", args=[world.eco.pk])
    )

    assert response.status_code == 403


def test_the_progress_report_counts_only_what_the_reader_sees(client, world):
    world.problem(ledger_number="第1号", title="吴兴问题")
    world.problem(ledger_number="第2号", title="南浔问题", lead_unit=world.housing)

    office = client_for(client, world.office).get(
        reverse("render:progress_report_docx", args=[world.inspection.pk])
    )
    client.logout()
    liaison = client_for(client, world.liaison).get(
        reverse("render:progress_report_docx", args=[world.inspection.pk])
    )

    assert "共交办整改问题2个" in docx_text(office.content)
    assert "湖州市生态环境保护督察整改工作领导小组办公室" in docx_text(office.content)
    assert "共交办整改问题1个" in docx_text(liaison.content)
    assert "南浔区住房和城乡建设局" not in docx_text(liaison.content)


def test_the_public_notice_is_the_offices(client, world):
    office = client_for(client, world.office).get(
        reverse("render:public_notice_docx", args=[world.inspection.pk])
    )
    client.logout()
    liaison = client_for(client, world.liaison).get(
        reverse("render:public_notice_docx", args=[world.inspection.pk])
    )
    client.logout()
    outsider = client_for(client, world.outsider).get(
        reverse("render:public_notice_docx", args=[world.inspection.pk])
    )

    assert office.status_code == 200 and "现予以公示" in docx_text(office.content)
    assert liaison.status_code == 403
    assert outsider.status_code == 404


def test_the_command_renders_each_kind_to_a_file(world, applied, tmp_path):
    world.problem(
        ledger_number="第7号", title="餐饮油烟直排", deadline=TODAY - dt.timedelta(days=4)
    )
    runs = [
        ("closing_record", ["--problem", str(applied.pk)], "河道垃圾清理"),
        ("supervision_notice", ["--unit", str(world.eco.pk)], "餐饮油烟直排"),
        ("progress_report", ["--inspection", world.inspection.code], "整改进展情况报告"),
        ("public_notice", ["--inspection", world.inspection.code], "公示"),
    ]
    for kind, target, expected in runs:
        out = tmp_path / f"{kind}.docx"
        call_command("render_document", kind, *target, "-o", str(out))
        assert expected in docx_text(out.read_bytes()), kind


def test_the_command_writes_pdf_when_asked(world, applied, tmp_path):
    out = tmp_path / "record.bin"

    call_command(
        "render_document",
        "closing_record",
        "--problem",
        str(applied.pk),
        "--format",
        "pdf",
        "-o",
        str(out),
    )

    assert out.read_bytes().startswith(b"%PDF")


def test_the_command_refuses_a_target_of_the_wrong_kind_or_scope(world, applied, tmp_path):
    out = str(tmp_path / "x.docx")
    with pytest.raises(CommandError):
        call_command("render_document", "closing_record", "--unit", str(world.eco.pk), "-o", out)
    with pytest.raises(CommandError):
        call_command("render_document", "closing_record", "--problem", "999999", "-o", out)
    with pytest.raises(CommandError):
        call_command(
            "render_document",
            "closing_record",
            "--problem",
            str(applied.pk),
            "--user",
            "other_liaison",
            "-o",
            out,
        )
    with pytest.raises(CommandError):
        call_command(
            "render_document",
            "closing_record",
            "--problem",
            str(applied.pk),
            "-o",
            str(tmp_path / "x.txt"),
        )
