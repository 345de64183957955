"""Round trip: a ledger exported by `duban export_ledger` reads back through `duban import_ledger`
as the same problems (text, units, measures, deadline kinds and date, number)."""

import datetime as dt
import io
import json

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from duban.documents.importing.readers import plain_text
from duban.ledger import actions
from duban.ledger.models import Problem
from duban.org.models import Unit, UnitKind


def make(world, number, *, feedback, co_units=(), measures, **deadline):
    fields = {
        "feedback_text": feedback,
        "title": feedback[:30],
        "ledger_number": number,
        "region": world.wuxing,
        "lead_unit": world.eco,
        "lead_official": world.lead_official,
        "deadline_immediate": False,
        "deadline_by_date": False,
        "deadline_ongoing": False,
        "deadline": None,
    } | deadline
    return actions.create_problem(
        by=world.office,
        inspection=world.inspection,
        fields=fields,
        co_units=list(co_units),
        measures=[actions.MeasureInput(text, "") for text in measures],
    )


@pytest.fixture
def ledger(world):
    city_housing = Unit.objects.create(
        name="湖州市住房和城乡建设局",
        short_name="市住建局",
        kind=UnitKind.DEPARTMENT,
        region=world.city,
    )
    return [
        make(
            world,
            "1",
            feedback="吴兴区燃煤小锅炉淘汰工作推进不力，部分企业仍在使用。",
            co_units=[world.housing, city_housing],
            measures=["全面排查辖区燃煤锅炉", "对仍在使用的锅炉逐家拆除", "开展“回头看”复核"],
            deadline_by_date=True,
            deadline=dt.date(2027, 6, 30),
        ),
        make(
            world,
            "2",
            feedback="部分河道存在黑臭水体反弹现象。\n群众反映强烈。",
            measures=["立即开展清淤"],
            deadline_immediate=True,
            deadline_ongoing=True,
        ),
        make(
            world,
            "省编号第41号",
            feedback="建筑工地扬尘管控不到位。",
            co_units=[city_housing],
            measures=["建立工地扬尘巡查制度", "对违规工地立案查处"],
            deadline_immediate=True,
            deadline_by_date=True,
            deadline=dt.date(2026, 12, 31),
        ),
        make(
            world,
            "4",
            feedback="餐饮油烟扰民问题长期未解决。",
            measures=["安装油烟净化设施"],
            deadline_ongoing=True,
        ),
    ]


def import_dry_run(path) -> dict:
    out = io.StringIO()
    try:
        call_command("import_ledger", str(path), "--dry-run", "--json", stdout=out)
    except (CommandError, SystemExit):
        pass  # errors are in the JSON too; the assertions below name them
    return json.loads(out.getvalue())


def export_inspection(world, tmp_path):
    """`duban export_ledger` of the world's inspection: the file and every cell written."""
    path = tmp_path / "整改台账.xlsx"
    call_command(
        "export_ledger",
        "--inspection",
        world.inspection.code,
        "-o",
        str(path),
        stdout=io.StringIO(),
    )
    sheet = openpyxl.load_workbook(path).active
    return path, [cell.value for row in sheet.iter_rows() for cell in row if cell.value]


def test_it_reads_an_exported_ledger_back_as_the_same_problems(world, ledger, tmp_path):
    path = tmp_path / "整改台账.xlsx"
    call_command(
        "export_ledger",
        "--inspection",
        world.inspection.code,
        "-o",
        str(path),
        stdout=io.StringIO(),
    )
    result = import_dry_run(path)
    assert result["errors"] == []
    assert result["ok"] is True
    read = [
        {
            "number": str(row["number"]),
            "feedback": row["feedback"],
            "lead_unit": row["lead_unit"],
            "lead_official": row["lead_official"],
            "co_units": row["co_units"],
            "measures": row["measures"],
            "deadline_kinds": row["deadline_kinds"],
            "deadline": row["deadline"],
        }
        for row in result["rows"]
    ]
    expected = [
        {
            "number": p.ledger_number,
            "feedback": p.feedback_text,
            "lead_unit": p.lead_unit.name,
            "lead_official": p.lead_official.display_name,
            "co_units": [
                u.name
                for u in Unit.objects.filter(
                    problem_links__problem=p, problem_links__role="co"
                ).order_by("problem_links__id")
            ],
            "measures": [m.text for m in p.measures.all()],
            "deadline_kinds": p.deadline_kinds(),
            "deadline": p.deadline.isoformat() if p.deadline else None,
        }
        for p in Problem.objects.order_by("id")
    ]
    assert read == expected


def test_it_reads_texts_that_start_like_formulas_back_exactly(world, tmp_path):
    make(
        world,
        "1",
        feedback="-5%：PM2.5年均浓度不降反升，未完成年度目标。",
        measures=["=按月通报浓度变化", "-5%以上的乡镇约谈"],
        deadline_by_date=True,
        deadline=dt.date(2027, 6, 30),
    )
    make(
        world,
        "2",
        feedback="=部分企业在线监测数据造假。",
        measures=["-立案查处"],
        deadline_immediate=True,
    )
    path, written = export_inspection(world, tmp_path)
    # The exported cells cannot start a formula ...
    assert "'-5%：PM2.5年均浓度不降反升，未完成年度目标。" in written
    assert "'=部分企业在线监测数据造假。" in written

    result = import_dry_run(path)

    # ... and the import takes the apostrophe off again.
    assert result["errors"] == []
    assert [(row["feedback"], row["measures"]) for row in result["rows"]] == [
        (
            "-5%：PM2.5年均浓度不降反升，未完成年度目标。",
            ["=按月通报浓度变化", "-5%以上的乡镇约谈"],
        ),
        ("=部分企业在线监测数据造假。", ["-立案查处"]),
    ]


def test_it_reads_texts_that_start_with_an_apostrophe_and_a_formula_sign_back_exactly(
    world, tmp_path
):
    make(
        world,
        "1",
        feedback="'=' 号之后的数据被篡改。",
        measures=["'-5%'的乡镇约谈", "''+加强监管"],
        deadline_by_date=True,
        deadline=dt.date(2027, 6, 30),
    )
    path, written = export_inspection(world, tmp_path)
    assert "''=' 号之后的数据被篡改。" in written  # one apostrophe more, never a formula

    result = import_dry_run(path)

    assert result["errors"] == []
    assert [(row["feedback"], row["measures"]) for row in result["rows"]] == [
        ("'=' 号之后的数据被篡改。", ["'-5%'的乡镇约谈", "''+加强监管"])
    ]


def test_it_takes_the_apostrophe_off_only_before_a_formula_sign():
    assert plain_text("'=SUM(A1)") == "=SUM(A1)"
    assert plain_text("'-5%") == "-5%"
    assert plain_text("'+86") == "+86"
    assert plain_text("'@所有人") == "@所有人"
    assert plain_text("'两山'理念") == "'两山'理念"  # a quotation, not a neutralised cell
    assert plain_text("''=SUM(A1)") == "'=SUM(A1)"  # a text that itself starts "'="
