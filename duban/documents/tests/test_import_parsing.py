"""The free text of a list's cells: deadlines, measures, units, headers and headings."""

import datetime as dt

import pytest

from duban.documents.importing.layout import match_header
from duban.documents.importing.parsing import (
    CellError,
    category_of,
    parse_deadline,
    split_measures,
    split_units,
    title_from,
)


@pytest.mark.parametrize(
    ("written", "kinds", "date"),
    [
        ("立行立改，长期坚持", ["immediate", "ongoing"], None),
        ("立行立改", ["immediate"], None),
        ("长期坚持", ["ongoing"], None),
        ("持续推进", ["ongoing"], None),
        ("2018年12月底前", ["by_date"], dt.date(2018, 12, 31)),
        ("2019年6月30日前", ["by_date"], dt.date(2019, 6, 30)),
        ("2020年底前完成", ["by_date"], dt.date(2020, 12, 31)),
        ("2019年10月", ["by_date"], dt.date(2019, 10, 31)),
        ("2020年2月", ["by_date"], dt.date(2020, 2, 29)),
        ("2021年", ["by_date"], dt.date(2021, 12, 31)),
        ("2020年6月底前完成并长期坚持", ["by_date", "ongoing"], dt.date(2020, 6, 30)),
        ("２０１９年６月３０日前", ["by_date"], dt.date(2019, 6, 30)),
        ("2019年底前取得阶段成效，2020年底前全面完成", ["by_date"], dt.date(2020, 12, 31)),
        ("2019-06-30", ["by_date"], dt.date(2019, 6, 30)),
        ("2019年上半年", ["by_date"], dt.date(2019, 6, 30)),
    ],
)
def test_it_reads_deadlines_as_offices_write_them(written, kinds, date):
    deadline = parse_deadline(written)

    assert (deadline.kinds, deadline.date) == (kinds, date)


@pytest.mark.parametrize(
    "written",
    ["尽快", "", "2019年2月30日前", "2019年13月", "0000年底前", "0000年6月", "0000年上半年"],
)
def test_it_refuses_deadlines_it_cannot_read(written):
    with pytest.raises(CellError):
        parse_deadline(written)


@pytest.mark.parametrize(
    ("cell", "measures"),
    [
        ("1.排查。2.整治，削减2.5万吨。3、验收", ["排查。", "整治，削减2.5万吨。", "验收"]),
        ("１．排查\n２．整治", ["排查", "整治"]),
        ("（1）排查；（2）整治\n（3）验收", ["排查", "整治", "验收"]),
        ("①排查②整治", ["排查", "整治"]),
        ("排查\n整治", ["排查", "整治"]),
        ("一次性排查到位，按第2.1条处理", ["一次性排查到位，按第2.1条处理"]),
        ("1.排查：（1）企业；（2）园区。2.整治", ["排查：（1）企业；（2）园区。", "整治"]),
        ("", []),
    ],
)
def test_it_splits_numbered_measures_in_one_cell(cell, measures):
    assert split_measures(cell) == measures


@pytest.mark.parametrize(
    ("cell", "lead", "co"),
    [
        (
            "市生态环境局（牵头），市住建局、市城管局，各县（市、区）政府",
            "市生态环境局",
            ["市住建局", "市城管局", "各县（市、区）政府"],
        ),
        (
            "牵头单位：市生态环境局；配合单位：市住建局、市城管局",
            "市生态环境局",
            ["市住建局", "市城管局"],
        ),
        ("市住建局、市生态环境局(牵头)", "市生态环境局", ["市住建局"]),
        ("吴兴区政府\n南浔区政府", "吴兴区政府", ["南浔区政府"]),
        ("", None, []),
        # "None" as clerks write it: no unit, which the importer reports, rather than a crash.
        ("/", None, []),
        ("、", None, []),
        ("等", None, []),
    ],
)
def test_it_reads_responsible_units_from_free_text(cell, lead, co):
    units = split_units(cell)

    assert (units.lead, units.co) == (lead, co)


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("反馈问题", "feedback"),
        ("督察反馈问题", "feedback"),
        ("问题", "feedback"),
        ("责任单位", "units"),
        ("整改责任单位", "units"),
        ("整改实施主体", "units"),
        ("责任领导", "lead_official"),
        ("牵头领导", "lead_official"),
        ("责任人", "lead_official"),
        ("整改时限", "deadline"),
        ("完成\n时限", "deadline"),
        ("整改时限（完成时间）", "deadline"),
        ("整改措施", "measures"),
        ("重点措施", "measures"),
        ("整改目标", "target"),
        ("目标任务", "target"),
        ("序号", "number"),
        ("编号", "number"),
        ("整改进展", "progress"),
        ("完成情况", "progress"),
        ("备注", None),
    ],
)
def test_it_knows_the_names_offices_give_their_columns(header, field):
    assert match_header(header) == field


def test_it_takes_the_category_from_group_headings():
    assert category_of("一、大气污染防治方面") == "air"
    assert category_of("（二）水污染防治") == "water"
    assert category_of("三、土壤和地下水污染防治") == "soil"
    assert category_of("四、固体废物") == "solid_waste"
    assert category_of("五、自然保护地生态破坏") == "ecology"
    assert category_of("六、其他方面") == "other"


def test_it_makes_a_short_title_from_the_feedback():
    assert title_from("督察发现，燃煤小锅炉淘汰推进不力。部分企业仍在使用。") == (
        "督察发现，燃煤小锅炉淘汰推进不力"
    )
    assert len(title_from("问" * 300)) == 60
