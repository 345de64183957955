"""Old binary .xls lists (still common in offices) read like their .xlsx equivalent.

The .xls is written by xlwt in the test: a title merged across the sheet, header names
that vary, a group heading row, a problem merged over three rows (one per unit),
numbered measures and deadlines in words.
"""

import io
import json

from django.core.management import call_command
from django.core.management.base import CommandError

from duban.documents.importing import parse_file, readers, samples


def dry_run(path) -> tuple[int, dict]:
    out = io.StringIO()
    status = 0
    try:
        call_command("import_ledger", str(path), "--dry-run", "--json", stdout=out)
    except CommandError as failure:
        status = failure.returncode
    return status, json.loads(out.getvalue())


def test_it_keeps_the_merged_ranges_of_an_xls():
    (sheet,) = readers.read_sheets(samples.messy_xls(), "清单.xls")

    merges = set(sheet.merges)
    assert (0, 0, 0, 7) in merges  # the title across the sheet
    assert {(4, 0, 6, 0), (4, 1, 6, 1)} <= merges  # number and text over three unit rows
    assert sheet.rows[2][6] == "完成\n时限"
    assert sheet.rows[4][0] == "1"  # a number stored as 1.0, shown as the clerk typed it


def test_it_reads_a_messy_xls_like_the_same_list_as_xlsx(world, tmp_path):
    xls = tmp_path / "整改清单.xls"
    xls.write_bytes(samples.messy_xls())
    xlsx = tmp_path / "整改清单.xlsx"
    samples.messy_workbook().save(xlsx)

    status, report = dry_run(xls)

    assert status == 0, report["errors"]
    assert report["ok"] is True and report["errors"] == []
    assert report == dry_run(xlsx)[1]
    rows = {row["row"]: row for row in report["rows"]}
    assert sorted(rows) == [5, 6, 7, 10, 11, 12, 13, 14, 15, 16, 17]
    # The merged problem text and its number reach each of its three unit rows.
    assert {rows[r]["feedback"] for r in (5, 6, 7)} == {samples.FEEDBACK_BOILERS}
    assert [rows[r]["number"] for r in (5, 6, 7)] == ["1", "1", "1"]
    assert [rows[r]["lead_unit"] for r in (5, 6, 7)] == [
        "湖州市生态环境局吴兴分局",
        "南浔区住房和城乡建设局",
        "湖州市生态环境局吴兴分局",
    ]
    assert rows[5]["category"] == "air" and rows[10]["category"] == "water"
    assert rows[5]["measures"] == [
        "全面排查燃煤锅炉。",
        "建立淘汰台账，削减2.5万吨。",
        "开展执法检查",
    ]
    assert (rows[7]["deadline_kinds"], rows[7]["deadline"]) == (["immediate", "ongoing"], None)
    assert (rows[6]["deadline_kinds"], rows[6]["deadline"]) == (["by_date"], "2019-06-30")
    assert rows[12]["number"] == "４"  # as written, full width


def test_it_refuses_an_xls_with_a_cut_off_end():
    content = samples.messy_xls()

    result = parse_file(content[: len(content) // 2], "清单.xls")

    assert [e.message for e in result.errors] == [
        "文件已损坏或不完整（可能上传中断），请重新保存后再试。"
    ]
