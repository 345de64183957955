"""duban import_ledger: a messy list read, checked and registered all or nothing."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from duban.audit.models import AuditEvent
from duban.documents.importing import samples
from duban.ledger.models import Problem, UnitRole
from duban.org.models import Unit, UnitKind

ROW_KEYS = {
    "row",
    "number",
    "feedback",
    "lead_unit",
    "co_units",
    "lead_official",
    "deadline_kinds",
    "deadline",
    "measures",
    "category",
}


def run(*args) -> tuple[int, dict | str, str]:
    """Exit status, stdout (parsed when --json) and stderr of the command."""
    out, err = io.StringIO(), io.StringIO()
    status = 0
    try:
        call_command("import_ledger", *[str(a) for a in args], stdout=out, stderr=err)
    except CommandError as failure:
        status = failure.returncode
        err.write(str(failure))
    text = out.getvalue()
    return status, (json.loads(text) if "--json" in args else text), err.getvalue()


@pytest.fixture
def messy(tmp_path):
    path = tmp_path / "整改清单.xlsx"
    samples.messy_workbook().save(path)
    return path


def test_it_reads_a_messy_list_in_a_dry_run_without_an_inspection(world, messy):
    status, report, _ = run(messy, "--dry-run", "--json")

    assert status == 0
    assert set(report) == {"ok", "created", "rows", "errors", "unknown_units"}
    assert report["ok"] is True and report["created"] == 0 and report["errors"] == []
    assert all(set(row) == ROW_KEYS for row in report["rows"])
    rows = {row["row"]: row for row in report["rows"]}
    # Title rows, the headings, the empty rows and the notes are not problems.
    assert sorted(rows) == [5, 6, 7, 10, 11, 12, 13, 14, 15, 16, 17]
    # The problem merged over three rows: one problem per unit row, each with the text.
    assert {rows[r]["feedback"] for r in (5, 6, 7)} == {samples.FEEDBACK_BOILERS}
    assert [rows[r]["number"] for r in (5, 6, 7)] == ["1", "1", "1"]
    assert rows[5] == {
        "row": 5,
        "number": "1",
        "feedback": samples.FEEDBACK_BOILERS,
        "lead_unit": "湖州市生态环境局吴兴分局",
        "co_units": ["南浔区住房和城乡建设局"],
        "lead_official": "lead_official（副区长）",
        "deadline_kinds": ["by_date"],
        "deadline": "2018-12-31",
        "measures": ["全面排查燃煤锅炉。", "建立淘汰台账，削减2.5万吨。", "开展执法检查"],
        "category": "air",
    }
    assert rows[6]["lead_unit"] == "南浔区住房和城乡建设局"
    assert rows[6]["measures"] == ["排查", "整治"]
    assert (rows[6]["deadline_kinds"], rows[6]["deadline"]) == (["by_date"], "2019-06-30")
    assert rows[7]["lead_unit"] == "湖州市生态环境局吴兴分局"
    assert rows[7]["co_units"] == ["南浔区住房和城乡建设局"]
    assert rows[7]["measures"] == ["排查", "整治", "验收"]
    assert (rows[7]["deadline_kinds"], rows[7]["deadline"]) == (["immediate", "ongoing"], None)
    assert rows[10]["co_units"] == ["南浔区住房和城乡建设局", "各县（市、区）政府"]
    assert rows[10]["measures"] == ["排查雨污混接", "实施改造"]
    assert rows[10]["category"] == "water"
    assert rows[12]["number"] == "４"
    deadlines = {r: (rows[r]["deadline_kinds"], rows[r]["deadline"]) for r in range(10, 18)}
    assert deadlines == {
        10: (["by_date"], "2020-12-31"),
        11: (["by_date"], "2019-10-31"),
        12: (["by_date"], "2021-12-31"),
        13: (["by_date", "ongoing"], "2020-06-30"),
        14: (["immediate"], None),
        15: (["ongoing"], None),
        16: (["ongoing"], None),
        17: (["by_date"], "2019-06-30"),
    }
    assert not Problem.objects.exists()


def test_it_registers_every_row_as_the_office_in_one_go(world, messy):
    events_before = AuditEvent.objects.count()

    status, report, _ = run(messy, "--inspection", world.inspection.code, "--json")

    assert status == 0, report["errors"]
    assert report["ok"] is True and report["created"] == 11
    problems = list(Problem.objects.order_by("id"))
    assert len(problems) == 11
    first = problems[0]
    assert first.inspection == world.inspection
    assert first.feedback_text == samples.FEEDBACK_BOILERS
    assert (first.lead_unit, first.region) == (world.eco, world.wuxing)
    assert first.lead_official == world.lead_official  # "lead_official（副区长）" matched
    assert first.category == "air" and first.target == "全面淘汰燃煤小锅炉"
    assert [m.text for m in first.measures.order_by("order")] == [
        "全面排查燃煤锅炉。",
        "建立淘汰台账，削减2.5万吨。",
        "开展执法检查",
    ]
    assert list(first.co_units()) == [world.housing]
    # The second unit row of the merged problem is its own problem, in its lead unit's region.
    assert (problems[1].lead_unit, problems[1].region) == (world.housing, world.nanxun)
    assert problems[2].deadline_immediate and problems[2].deadline_ongoing
    assert not problems[2].deadline_by_date and problems[2].deadline is None
    assert problems[3].unit_links.filter(role=UnitRole.CO).count() == 1  # no county governments
    assert AuditEvent.objects.count() - events_before == 11
    assert set(AuditEvent.objects.values_list("actor_id", flat=True).distinct()) >= {
        world.office.pk
    }


def test_it_writes_nothing_when_one_row_is_wrong(world, tmp_path):
    path = tmp_path / "one-bad.xlsx"
    workbook = samples.messy_workbook(
        extra_rows=[[10, "扬尘管控不到位。", None, "吴兴分局", None, None, "尽快"]]
    )
    workbook.save(path)

    status, report, _ = run(path, "--inspection", world.inspection.code, "--json")

    assert status == 1
    assert report["ok"] is False and report["created"] == 0
    assert report["errors"] == [
        {
            "sheet": "整改清单",
            "row": 18,
            "column": "完成时限",
            "message": "“尽快”不是整改时限，请写成如“2019年6月30日前”“立行立改”或“长期坚持”。",
        }
    ]
    assert len(report["rows"]) == 12  # the preview shows every row read, the wrong one too
    assert not Problem.objects.exists()


def test_it_lists_unknown_units_and_creates_them_when_asked(world, tmp_path):
    path = tmp_path / "units.xlsx"
    path.write_bytes(
        samples.simple_workbook(
            [
                [
                    1,
                    "建筑工地扬尘管控不到位。",
                    "市城管局（牵头），吴兴分局、市交通运输局",
                    "1.巡查 2.处罚",
                    "2027年3月",
                ],
                [2, "渣土车撒漏。", "市城管局", "", "立行立改"],
            ]
        )
    )

    status, report, _ = run(path, "--inspection", world.inspection.code, "--json")
    assert status == 1
    assert report["unknown_units"] == ["市城管局", "市交通运输局"]
    assert [(e["row"], e["column"]) for e in report["errors"]] == [
        (2, "责任单位"),
        (2, "责任单位"),
        (3, "责任单位"),
    ]
    assert "市城管局" in report["errors"][0]["message"]
    assert not Unit.objects.filter(name="市城管局").exists() and not Problem.objects.exists()

    status, report, _ = run(path, "--inspection", world.inspection.code, "--create-units", "--json")
    assert status == 0, report["errors"]
    assert report["created"] == 2 and report["unknown_units"] == ["市城管局", "市交通运输局"]
    created = Unit.objects.get(name="市城管局")
    # Created as a department in the region of the importing office (湖州市).
    assert (created.kind, created.region) == (UnitKind.DEPARTMENT, world.city)
    problem = Problem.objects.get(ledger_number="1")
    assert (problem.lead_unit, problem.region) == (created, world.city)
    assert {u.name for u in problem.co_units()} == {"湖州市生态环境局吴兴分局", "市交通运输局"}
    assert problem.deadline.isoformat() == "2027-03-31"


def test_it_reads_a_csv_saved_by_chinese_excel(world, tmp_path):
    path = tmp_path / "清单.csv"
    path.write_bytes(
        samples.csv_bytes(
            [
                ["整改方案"],
                ["编号", "问题", "责任单位", "牵头领导", "重点措施", "整改时限"],
                ["一、固体废物污染防治"],
                [
                    "1",
                    "危险废物贮存不规范。",
                    "吴兴分局",
                    "",
                    "1.规范贮存\n2.建立台账",
                    "2027年12月底前",
                ],
            ],
            encoding="gb18030",
        )
    )

    status, report, _ = run(path, "--dry-run", "--json")

    assert status == 0, report["errors"]
    (row,) = report["rows"]
    assert (row["row"], row["category"], row["lead_unit"]) == (
        4,
        "solid_waste",
        "湖州市生态环境局吴兴分局",
    )
    assert row["measures"] == ["规范贮存", "建立台账"]
    assert row["deadline"] == "2027-12-31"


def test_it_imports_as_the_named_office_user_and_refuses_others(world, messy):
    status, _report, err = run(messy, "--inspection", world.inspection.code, "--as", "liaison")

    assert status == 1
    assert "只有整改办工作人员可以导入清单" in err
    assert not Problem.objects.exists()

    status, out, _ = run(messy, "--inspection", world.inspection.code, "--as", "office")
    assert status == 0 and "11" in out
    assert Problem.objects.count() == 11


def test_it_needs_an_inspection_unless_it_is_a_dry_run(world, messy):
    with pytest.raises(CommandError):
        call_command("import_ledger", str(messy), stdout=io.StringIO())


def test_it_locates_errors_by_row_and_column_in_plain_output(world, tmp_path):
    path = tmp_path / "errors.xlsx"
    path.write_bytes(
        samples.simple_workbook(
            [
                [1, "", "吴兴分局", "", "2027年2月30日前"],
                [2, "污水直排。", "", "", "2027年底"],
            ]
        )
    )

    status, _out, err = run(path, "--dry-run")

    assert status == 1
    assert "Sheet 第2行 [反馈问题]: 问题内容为空。" in err
    assert "Sheet 第2行 [整改时限]: “2027年2月30日前”不是有效日期。" in err
    assert "Sheet 第3行 [责任单位]: 未填写责任单位。" in err


def test_it_takes_the_units_a_user_mapped_unknown_names_to(world):
    from duban.documents.importing import import_file

    content = samples.simple_workbook([[1, "垃圾中转站臭气扰民。", "区环卫处", "", "2027年6月"]])

    result = import_file(
        content,
        "清单.xlsx",
        inspection=world.inspection,
        by=world.office,
        unit_map={"区环卫处": world.eco},
    )

    assert result.ok and result.created == 1 and result.unknown_units == []
    assert Problem.objects.get().lead_unit == world.eco
