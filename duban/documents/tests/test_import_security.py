"""Files are an attack surface: each dangerous file gets a clear error, bounded memory, no writes."""

import io
import tracemalloc
import zipfile

import pytest

from duban.documents.importing import import_file, samples
from duban.documents.importing.readers import OLE_MAGIC
from duban.ledger.models import Problem
from duban.org.models import Unit

MEMORY_LIMIT = 20 * 1024 * 1024


def messy_bytes() -> bytes:
    return samples.workbook_bytes(samples.messy_workbook())


def rebuilt(content: bytes, change=None, extra=()) -> bytes:
    """The workbook's zip again, with parts changed by `change(name, data)` and extra entries."""
    source = zipfile.ZipFile(io.BytesIO(content))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            target.writestr(info.filename, change(info.filename, data) if change else data)
        for name, data in extra:
            target.writestr(name, data)
    return buffer.getvalue()


def refused(world, content: bytes, filename: str) -> str:
    """Import as the office; the one error's message, checking memory and that nothing was written."""
    units_before = Unit.objects.count()
    tracemalloc.start()
    try:
        result = import_file(
            content, filename, inspection=world.inspection, by=world.office, create_units=True
        )
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_LIMIT
    assert not result.ok and result.created == 0 and result.rows == []
    assert not Problem.objects.exists() and Unit.objects.count() == units_before
    (error,) = result.errors
    assert (error.row, error.column) == (None, None)
    return error.message


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{(f"&lol{i - 1};" if i > 1 else "&lol;") * 10}">' for i in range(1, 10)
    )
    + "]>"
)


def test_it_refuses_a_billion_laughs_workbook(world):
    def laugh(name, data):
        if name != "xl/worksheets/sheet1.xml":
            return data
        text = data.decode()
        body = text[text.index("<worksheet") :].replace("<v>1</v>", "<v>&lol9;</v>", 1)
        return (BILLION_LAUGHS + body).encode()

    message = refused(world, rebuilt(messy_bytes(), laugh), "清单.xlsx")

    assert message == "该工作簿含有 Office 从不写入的 XML 实体声明，已拒绝读取。"


@pytest.mark.parametrize(
    "before",
    ["<!--" + "注释" * 4000 + "-->", "\ufeff", "<?pi x?>\n<!-- a -->\n" * 300],
    ids=["long comment", "byte order mark", "many prolog items"],
)
def test_it_finds_an_entity_declaration_behind_a_long_prolog(world, before):
    def laugh(name, data):
        if name != "xl/worksheets/sheet1.xml":
            return data
        text = data.decode()
        body = text[text.index("<worksheet") :].replace("<v>1</v>", "<v>&lol9;</v>", 1)
        declaration, doctype = BILLION_LAUGHS.split("?>", 1)
        return (before + declaration + "?>" + doctype + body).encode()

    message = refused(world, rebuilt(messy_bytes(), laugh), "清单.xlsx")

    assert message == "该工作簿含有 Office 从不写入的 XML 实体声明，已拒绝读取。"


def test_openpyxl_itself_refuses_entity_expansion():
    """Our own check runs first, but the library underneath is guarded too (defusedxml)."""
    from openpyxl import load_workbook
    from openpyxl.xml import DEFUSEDXML

    def laugh(name, data):
        if name != "xl/worksheets/sheet1.xml":
            return data
        text = data.decode()
        return (BILLION_LAUGHS + text[text.index("<worksheet") :]).encode()

    assert DEFUSEDXML
    with pytest.raises(Exception, match="(?i)entit|invalid XML|Forbidden"):
        load_workbook(io.BytesIO(rebuilt(messy_bytes(), laugh)))


def test_it_refuses_a_zip_bomb(world):
    bomb = rebuilt(messy_bytes(), extra=[("xl/media/padding.xml", b" " * (40 * 1024 * 1024))])
    assert len(bomb) < 200 * 1024  # 40 MB that packs into a few dozen KB

    message = refused(world, bomb, "清单.xlsx")

    assert message == "该工作簿解压后的数据量远超一份清单，已拒绝读取。"


def test_it_refuses_an_archive_with_too_many_parts(world):
    crowded = rebuilt(messy_bytes(), extra=[(f"xl/x/{i}.xml", b"<x/>") for i in range(2001)])

    assert (
        refused(world, crowded, "清单.xlsx") == "该工作簿包含的部件过多，不像一份清单，已拒绝读取。"
    )


def test_it_refuses_macro_enabled_workbooks(world):
    assert refused(world, messy_bytes(), "清单.xlsm") == (
        "不接受启用宏的工作簿（.xlsm），请另存为 .xlsx 后再导入。"
    )
    with_macro = rebuilt(messy_bytes(), extra=[("xl/vbaProject.bin", b"\x00" * 512)])
    assert refused(world, with_macro, "清单.xlsx") == (
        "该工作簿含有宏，请另存为不含宏的 .xlsx 文件后再试。"
    )


def test_it_refuses_a_password_protected_workbook(world):
    # Office wraps an encrypted .xlsx in an OLE compound file with an "EncryptedPackage"
    # stream; this is that container's header and directory names (not a full encryption).
    directory = b"".join(
        name.encode("utf-16-le").ljust(64, b"\x00") + b"\x00" * 64
        for name in ("Root Entry", "EncryptionInfo", "EncryptedPackage")
    )
    encrypted = OLE_MAGIC + b"\x00" * 504 + directory + b"\x00" * 4096

    assert refused(world, encrypted, "清单.xlsx") == (
        "该工作簿设有密码保护，请取消密码后重新导入。"
    )


def test_it_refuses_a_file_with_the_wrong_extension(world):
    assert refused(world, "序号,反馈问题\n1,问题".encode(), "清单.xlsx") == (
        "该文件虽以 .xlsx 结尾，但并不是 Excel 工作簿。"
    )
    assert refused(world, messy_bytes(), "清单.docx") == "只能导入 .xlsx、.xls 和 .csv 文件。"


def test_it_refuses_a_truncated_file(world):
    content = messy_bytes()

    assert refused(world, content[: len(content) // 2], "清单.xlsx") == (
        "文件已损坏或不完整（可能上传中断），请重新保存后再试。"
    )


def test_it_refuses_a_file_over_the_size_limit_without_reading_it_all(world, settings, tmp_path):
    settings.DUBAN_MAX_IMPORT_MB = 1
    path = tmp_path / "big.csv"
    path.write_bytes(
        samples.csv_bytes([["序号", "反馈问题"], *[[i, "问题" * 50] for i in range(20000)]])
    )
    assert path.stat().st_size > 2 * 1024 * 1024

    with path.open("rb") as handle:
        message = refused(world, handle, "big.csv")

    assert message == "文件超过 1 MB，请将清单拆分为较小的文件。"


def test_it_never_uses_paths_inside_the_archive(world, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sneaky = rebuilt(messy_bytes(), extra=[("../../evil.txt", b"x"), ("/etc/evil.xml", b"<x/>")])

    result = import_file(sneaky, "清单.xlsx", dry_run=True)

    assert result.ok and len(result.rows) == 11
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path.parent / "evil.txt").exists()


# --- grids the native reader would build in full ------------------------------------------------
# python-calamine allocates every sheet as one dense grid and copies a shared string into every
# cell that shows it; these files are a few kilobytes each. Before the reader ran in a capped child
# process, the first one ended the whole test process ("memory allocation of 549755813888 bytes
# failed").

TOO_LARGE = "该工作簿解压后的数据量远超一份清单，已拒绝读取。"


def messy_with(**cells) -> bytes:
    workbook = samples.messy_workbook()
    for ref, value in cells.items():
        workbook.active[ref] = value
    return samples.workbook_bytes(workbook)


def test_it_refuses_a_tiny_workbook_with_one_cell_in_the_far_corner(world):
    far = messy_with(XFD1048576="x")
    assert len(far) < 20 * 1024

    assert refused(world, far, "清单.xlsx") == TOO_LARGE


def test_it_locates_a_stray_cell_far_below_the_table(world):
    message = refused(world, messy_with(A1048576="x"), "清单.xlsx")

    assert "整改清单" in message and "1048576" in message and "H" in message  # column H


def test_it_refuses_a_merged_range_over_the_rest_of_the_sheet(world):
    def merge_all(name, data):
        if name != "xl/worksheets/sheet1.xml":
            return data
        return data.replace(b"<mergeCell ", b'<mergeCell ref="H10:XFD1048576"/><mergeCell ', 1)

    message = refused(world, rebuilt(messy_bytes(), merge_all), "清单.xlsx")

    assert "整改清单" in message and "1048576" in message and "XFD" in message


def test_it_refuses_merged_ranges_laid_over_each_other_thousands_of_times(world):
    """Excel never writes overlapping ranges; 20,000 of them would fill one table 20,000 times."""

    def pile(name, data):
        if name != "xl/worksheets/sheet1.xml":
            return data
        return data.replace(
            b"<mergeCell ", b'<mergeCell ref="A5:H20"/>' * 20_000 + b"<mergeCell ", 1
        )

    assert refused(world, rebuilt(messy_bytes(), pile), "清单.xlsx") == TOO_LARGE


def test_it_refuses_one_long_text_shown_in_thousands_of_cells(world):
    """30,000 characters, once in the shared strings, shown in 3,000 cells: 90 million of them."""
    long_text = "督察发现" * 7500
    cells = "".join(f'<row r="{i}"><c r="A{i}" t="s"><v>0</v></c></row>' for i in range(1, 3001))
    shared = (
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="3000" '
        f'uniqueCount="1"><si><t>{long_text}</t></si></sst>'
    ).encode()

    def share(name, data):
        if name == "xl/worksheets/sheet1.xml":
            text = data.decode()
            start, end = text.index("<sheetData>"), text.index("</sheetData>")
            return (text[:start] + f"<sheetData>{cells}" + text[end:]).encode()
        if name == "xl/_rels/workbook.xml.rels":
            return data.replace(
                b"</Relationships>",
                b'<Relationship Id="rIdShared" Target="sharedStrings.xml" Type="http://schemas.'
                b'openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/>'
                b"</Relationships>",
            )
        return data

    bomb = rebuilt(messy_bytes(), share, extra=[("xl/sharedStrings.xml", shared)])
    assert len(bomb) < 100 * 1024

    assert refused(world, bomb, "清单.xlsx") == TOO_LARGE


def test_it_refuses_an_xls_whose_cell_lies_beyond_the_last_column(world):
    import struct

    import xlwt

    workbook = xlwt.Workbook()
    sheet = workbook.add_sheet("整改清单")
    sheet.write(0, 0, "序号")
    marker = 12345.6789
    sheet.write(5, 3, marker)
    buffer = io.BytesIO()
    workbook.save(buffer)
    content = bytearray(buffer.getvalue())
    # The NUMBER record: row, column, format, value. An .xls has 256 columns; the record has room
    # for 65,536, and the reader believes it.
    at = content.index(struct.pack("<d", marker))
    content[at - 6 : at - 2] = struct.pack("<HH", 65000, 65000)

    assert refused(world, bytes(content), "清单.xls") == TOO_LARGE


def test_it_refuses_a_csv_of_more_lines_than_a_list_has(world):
    message = refused(world, b"\n" * 250_000, "清单.csv")

    assert "CSV" in message and "200001" in message


def test_it_ignores_a_merged_range_that_starts_outside_the_cells_read(world):
    """Another range's filling must not bring it in: 10,001 rows × 16,384 columns."""

    def merge_chain(name, data):
        if name != "xl/worksheets/sheet1.xml":
            return data
        chain = b'<mergeCell ref="H10:H50000"/><mergeCell ref="A40000:XFD50000"/><mergeCell '
        return data.replace(b"<mergeCell ", chain, 1)

    tracemalloc.start()
    try:
        result = import_file(rebuilt(messy_bytes(), merge_chain), "清单.xlsx", dry_run=True)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert result.ok and len(result.rows) == 11
    assert peak < MEMORY_LIMIT
