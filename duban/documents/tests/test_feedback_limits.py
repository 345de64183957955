"""A feedback report built to make its parser spin is stopped at the reader's CPU limit, with a
message on the page and in the command, instead of holding a web worker for a minute."""

import io
import time
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation

from duban.documents import feedback
from duban.ledger.models import Problem

STOPPED = "This PDF took too long to read; save it again as PDF/A or upload the Word file."


def pdf_bomb(pages: int = 50, operators: int = 100_000) -> bytes:
    """A PDF of a few kilobytes whose pages all draw one compressed content stream of `operators`
    text operators. pypdf reads each page's operators one by one: measured here, about 1.3 s of
    CPU per page, so a minute for the whole file when nothing stops it."""
    content = b"BT /F1 12 Tf 72 720 Td " + b"(a) Tj " * operators + b"ET"
    stream = zlib.compress(content, 9)
    kids = b" ".join(b"%d 0 R" % (5 + i) for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    page = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 3 0 R >> >> /Contents 4 0 R >>"
    )
    objects += [page] * pages
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


@pytest.fixture(scope="module")
def bomb() -> bytes:
    data = pdf_bomb()
    assert len(data) < 10_000  # small enough to pass every size check
    return data


def test_it_stops_reading_a_pdf_bomb_on_the_page_with_a_message(client, world, bomb):
    world.office.language = "en"
    world.office.save()
    client.force_login(world.office)

    started = time.monotonic()
    response = client.post(
        reverse("feedback:upload"),
        {"inspection": world.inspection.pk, "file": SimpleUploadedFile("反馈意见.pdf", bomb)},
    )
    print(f"PDF bomb of {len(bomb)} bytes refused after {time.monotonic() - started:.1f} s")

    assert response.status_code == 400
    assert STOPPED in response.content.decode()
    assert not Problem.objects.exists()


def test_it_stops_reading_a_pdf_bomb_in_the_command_with_a_message(tmp_path, bomb):
    path = tmp_path / "反馈意见.pdf"
    path.write_bytes(bomb)

    with translation.override("en"), pytest.raises(CommandError, match="took too long to read"):
        call_command("split_feedback", str(path))


def test_it_still_reads_a_real_report_of_fifty_pages_within_the_limit():
    from weasyprint import HTML

    item = "督察发现，吴兴区燃煤小锅炉淘汰工作推进不力，部分企业仍在使用，责任落实不到位。" * 6
    chapters = "".join(
        f"<h2>{n}、存在的主要问题</h2>" + "".join(f"<p>{i}. {item}</p>" for i in range(1, 12))
        for n in "一二三四五六七八九十"
    )
    pdf = HTML(string=f"<html lang='zh-CN'><body>{chapters * 2}</body></html>").write_pdf()

    candidates = feedback.split_feedback(pdf, "反馈意见.pdf")

    assert len(candidates) == 220
