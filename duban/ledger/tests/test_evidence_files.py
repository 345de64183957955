"""台账资料: files are judged by their content, stored under generated names, and never half-saved."""

import datetime as dt
import hashlib
import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from duban.accounts.models import User
from duban.audit.models import AuditEvent
from duban.ledger import actions
from duban.ledger.models import Evidence, ProgressReport, State
from duban.org.models import Membership, Role

from .flow import jpeg, pdf, pdf_bytes, png, problem_in, upload


@pytest.fixture
def problem(world):
    return problem_in(world, State.IN_PROGRESS)


def files_under(root) -> set[Path]:
    return {p for p in Path(root).rglob("*") if p.is_file()}


def test_it_accepts_a_real_jpeg_png_and_pdf(world, problem):
    stored = actions.upload_evidence(
        problem, by=world.liaison, files=[jpeg(), png(), pdf()], category="现场照片"
    )
    assert [e.content_type for e in stored] == ["image/jpeg", "image/png", "application/pdf"]
    assert [e.original_name for e in stored] == ["现场照片.jpg", "现场照片.png", "整改报告.pdf"]
    assert Evidence.objects.filter(problem=problem).count() == 3


def test_it_rejects_a_text_file_named_like_a_photo(world, problem):
    fake = upload("现场照片.jpg", "这不是照片，只是一段文字。".encode())
    with pytest.raises(actions.InvalidInput) as refused:
        actions.upload_evidence(problem, by=world.liaison, files=[fake], category="现场照片")
    assert "现场照片.jpg" in str(refused.value) and refused.value.field == "files"
    assert not Evidence.objects.exists()


def test_it_rejects_an_empty_file(world, problem):
    with pytest.raises(actions.InvalidInput):
        actions.upload_evidence(
            problem, by=world.liaison, files=[upload("空.pdf", b"")], category="整改报告"
        )


def test_it_rejects_a_file_over_the_size_limit(world, problem, settings):
    settings.DUBAN_MAX_UPLOAD_MB = 1
    big = upload("监测报告.pdf", pdf_bytes() + b"0" * (1024 * 1024))
    with pytest.raises(actions.InvalidInput) as refused:
        actions.upload_evidence(problem, by=world.liaison, files=[big], category="监测报告")
    assert "监测报告.pdf" in str(refused.value) and "1 MB" in str(refused.value)
    assert not Evidence.objects.exists()

    small = upload("监测报告.pdf", pdf_bytes() + b"0" * (1024 * 1024 - 2048))
    actions.upload_evidence(problem, by=world.liaison, files=[small], category="监测报告")
    assert Evidence.objects.count() == 1


def test_it_stores_a_file_under_a_generated_name_with_its_sha256(world, problem, settings):
    content = pdf_bytes("第一次整改报告")
    [evidence] = actions.upload_evidence(
        problem,
        by=world.liaison,
        files=[upload("整改报告（定稿）.pdf", content)],
        category="整改报告",
    )

    evidence.refresh_from_db()
    assert re.fullmatch(r"evidence/\d{4}/\d{2}/[0-9a-f]{32}\.pdf", evidence.file.name)
    assert "整改报告" not in evidence.file.name
    assert evidence.original_name == "整改报告（定稿）.pdf"
    assert evidence.sha256 == hashlib.sha256(content).hexdigest()
    assert evidence.size == len(content)
    assert Path(settings.MEDIA_ROOT, evidence.file.name).read_bytes() == content
    assert evidence.uploaded_by == world.liaison
    assert not evidence.thumbnail  # a PDF has no thumbnail


def test_it_makes_a_thumbnail_of_a_photo(world, problem, settings):
    [evidence] = actions.upload_evidence(
        problem, by=world.liaison, files=[png("大照片.png")], category="现场照片"
    )
    assert evidence.thumbnail
    from PIL import Image

    with Image.open(Path(settings.MEDIA_ROOT, evidence.thumbnail.name)) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) <= 320


def test_it_reads_the_time_a_photo_was_taken(world, problem):
    [evidence] = actions.upload_evidence(
        problem, by=world.liaison, files=[jpeg(taken="2026:07:15 10:30:00")], category="现场照片"
    )
    evidence.refresh_from_db()
    expected = timezone.make_aware(dt.datetime(2026, 7, 15, 10, 30))
    assert evidence.taken_at == expected

    [plain] = actions.upload_evidence(
        problem, by=world.liaison, files=[jpeg("无时间.jpg")], category="现场照片"
    )
    assert plain.taken_at is None


def test_it_leaves_nothing_behind_when_an_upload_fails_halfway(world, problem, settings):
    """The first file is written to disk before the second turns out unreadable."""
    before = files_under(settings.MEDIA_ROOT)
    version = problem.version
    events = AuditEvent.objects.count()
    broken = upload("损坏.jpg", b"\xff\xd8\xff\xe0" + b"\x00garbage" * 200)

    with pytest.raises(actions.InvalidInput) as refused:
        actions.upload_evidence(
            problem, by=world.liaison, files=[png(), broken], category="现场照片"
        )

    assert "损坏.jpg" in str(refused.value)
    assert not Evidence.objects.exists()
    assert files_under(settings.MEDIA_ROOT) == before
    problem.refresh_from_db()
    assert problem.version == version
    assert AuditEvent.objects.count() == events


def test_it_leaves_nothing_behind_when_a_progress_report_fails(world, problem, settings):
    before = files_under(settings.MEDIA_ROOT)
    broken = upload("损坏.jpg", b"\xff\xd8\xff\xe0" + b"\x00garbage" * 200)

    with pytest.raises(actions.InvalidInput):
        actions.report_progress(
            problem, by=world.liaison, period="7月", text="进展", percent=40, files=[jpeg(), broken]
        )

    assert not ProgressReport.objects.exists() and not Evidence.objects.exists()
    assert files_under(settings.MEDIA_ROOT) == before
    problem.refresh_from_db()
    assert problem.progress_percent == 0


def test_it_files_photos_of_a_progress_report_as_evidence(world, problem):
    report = actions.report_progress(
        problem, by=world.liaison, period="7月", text="已拆除一半", percent=50, files=[jpeg()]
    )
    [evidence] = report.evidence.all()
    assert evidence.problem == problem and evidence.category == "现场照片"


def test_it_lets_the_unit_head_mark_a_file_reviewed_once(world, problem):
    [evidence] = actions.upload_evidence(
        problem, by=world.liaison, files=[pdf()], category="整改报告"
    )

    with pytest.raises(actions.NotAllowed):
        actions.review_evidence(evidence, by=world.liaison)
    reviewed = actions.review_evidence(evidence, by=world.unit_head)
    assert reviewed.reviewed_by == world.unit_head and reviewed.reviewed_at is not None
    with pytest.raises(actions.WrongState):
        actions.review_evidence(reviewed, by=world.unit_head)


def test_nobody_reviews_a_file_he_uploaded(world, problem):
    # A conflicting pair the grants now refuse, held from before: liaison and head of one unit.
    Membership.objects.create(user=world.liaison, unit=world.eco, role=Role.UNIT_HEAD)
    both = User.objects.get(pk=world.liaison.pk)  # a fresh user: roles are read once per object
    [evidence] = actions.upload_evidence(problem, by=both, files=[pdf()], category="整改报告")
    client = Client()
    client.force_login(both)
    page = client.get(reverse("ledger:problem_detail", args=[problem.pk])).content.decode()
    assert reverse("ledger:evidence_review", args=[evidence.pk]) not in page

    with pytest.raises(actions.NotAllowed, match="此文件由您上传"):  # "You uploaded this file"
        actions.review_evidence(evidence, by=both)
    response = client.post(reverse("ledger:evidence_review", args=[evidence.pk]))
    assert response.status_code == 403
    evidence.refresh_from_db()
    assert evidence.reviewed_at is None
    assert actions.review_evidence(evidence, by=world.unit_head).reviewed_by == world.unit_head


def test_it_refuses_uploads_from_another_unit(world, problem):
    with pytest.raises(actions.NotAllowed):
        actions.upload_evidence(problem, by=world.other_liaison, files=[pdf()], category="整改报告")
    assert not Evidence.objects.exists()


# --- Office files with macros ------------------------------------------------------------------


def word_bytes(*extra_parts: tuple[str, bytes], content_types: bytes | None = None) -> bytes:
    """A real .docx (python-docx's), with parts added or its [Content_Types].xml replaced."""
    import io
    import zipfile

    import docx

    base = io.BytesIO()
    docx.Document().save(base)
    out = io.BytesIO()
    with zipfile.ZipFile(base) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "[Content_Types].xml" and content_types is not None:
                data = content_types
            target.writestr(item, data)
        for name, data in extra_parts:
            target.writestr(name, data)
    return out.getvalue()


def excel_97_bytes(stream_name: str = "") -> bytes:
    """A real .xls (xlwt's); with `stream_name`, its Workbook stream renamed to that."""
    import io

    import xlwt

    book = xlwt.Workbook()
    book.add_sheet("台账").write(0, 0, "整改")
    out = io.BytesIO()
    book.save(out)
    content = bytearray(out.getvalue())
    if stream_name:
        entry = content.index("Workbook".encode("utf-16-le") + b"\x00\x00")
        name = stream_name.encode("utf-16-le")
        content[entry : entry + 64] = name.ljust(64, b"\x00")
        content[entry + 64 : entry + 66] = (len(name) + 2).to_bytes(2, "little")
    return bytes(content)


@pytest.mark.parametrize("name", ["整改方案.docm", "台账.xlsm", "汇报.pptm"])
def test_it_refuses_a_macro_enabled_office_file_by_its_name(world, problem, name):
    with pytest.raises(actions.InvalidInput) as refused:
        actions.upload_evidence(
            problem, by=world.liaison, files=[upload(name, word_bytes())], category="整改报告"
        )
    assert name in str(refused.value) and "启用宏" in str(refused.value)  # "macro-enabled"
    assert not Evidence.objects.exists()


@pytest.mark.parametrize(
    "content",
    [
        word_bytes(("word/vbaProject.bin", b"\xcc\x61" + b"\x00" * 64)),
        word_bytes(
            content_types=b'<?xml version="1.0"?><Types><Override PartName="/word/document.xml" '
            b'ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/></Types>'
        ),
    ],
    ids=["vba-project-part", "macro-enabled-content-type"],
)
def test_it_refuses_a_word_file_with_macros_renamed_to_docx(world, problem, content):
    with pytest.raises(actions.InvalidInput) as refused:
        actions.upload_evidence(
            problem, by=world.liaison, files=[upload("整改方案.docx", content)], category="整改报告"
        )
    assert "整改方案.docx" in str(refused.value) and "VBA" in str(refused.value)
    assert not Evidence.objects.exists()


def test_it_refuses_an_excel_97_file_with_a_vba_project_and_keeps_a_plain_one(world, problem):
    with pytest.raises(actions.InvalidInput) as refused:
        actions.upload_evidence(
            problem,
            by=world.liaison,
            files=[upload("台账.xls", excel_97_bytes("_VBA_PROJECT_CUR"))],
            category="整改报告",
        )
    assert "台账.xls" in str(refused.value) and "VBA" in str(refused.value)

    [plain] = actions.upload_evidence(
        problem, by=world.liaison, files=[upload("台账.xls", excel_97_bytes())], category="整改报告"
    )
    assert plain.content_type == "application/vnd.ms-excel"
    [word] = actions.upload_evidence(
        problem, by=world.liaison, files=[upload("方案.docx", word_bytes())], category="整改报告"
    )
    assert word.content_type.endswith("wordprocessingml.document")


def test_it_refuses_a_zip_named_docx_that_is_no_word_file(world, problem):
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "不是文档")
    with pytest.raises(actions.InvalidInput) as refused:
        actions.upload_evidence(
            problem,
            by=world.liaison,
            files=[upload("方案.docx", out.getvalue())],
            category="整改报告",
        )
    assert "方案.docx" in str(refused.value)


# --- large images ---------------------------------------------------------------------------


def test_it_keeps_a_pixel_flood_png_without_decoding_it_for_a_thumbnail(world, problem, settings):
    """79 megapixels in a few hundred KB: stored as sent, with no thumbnail (see files.py)."""
    from .test_upload_memory import pixel_flood_png

    content = pixel_flood_png(10_000, 7_900)
    [evidence] = actions.upload_evidence(
        problem, by=world.liaison, files=[upload("航拍.png", content)], category="现场照片"
    )
    assert evidence.content_type == "image/png" and not evidence.thumbnail
    assert Path(settings.MEDIA_ROOT, evidence.file.name).read_bytes() == content


def test_it_thumbnails_a_large_jpeg_from_a_reduced_decode_turned_upright(world, problem, settings):
    from PIL import Image

    from .test_upload_memory import camera_jpeg

    [evidence] = actions.upload_evidence(
        problem, by=world.liaison, files=[upload("现场.jpg", camera_jpeg())], category="现场照片"
    )
    with Image.open(Path(settings.MEDIA_ROOT, evidence.thumbnail.name)) as thumbnail:
        assert thumbnail.size == (240, 320)  # 8000 × 6000, EXIF orientation 6
    assert evidence.taken_at == timezone.make_aware(dt.datetime(2026, 7, 15, 10, 30))


def test_it_removes_the_stored_files_when_the_report_is_refused_in_its_transaction(
    world, problem, settings
):
    """Files are written before the transaction; a refusal inside it takes them away again."""
    before = files_under(settings.MEDIA_ROOT)
    other = problem_in(world, State.IN_PROGRESS, title="另一个问题")
    foreign_measure = other.measures.first().pk

    with pytest.raises(actions.InvalidInput):
        actions.report_progress(
            problem,
            by=world.liaison,
            period="7月",
            text="进展",
            percent=40,
            measure_updates=[(foreign_measure, "已完成", True)],
            files=[jpeg(), pdf()],
        )

    assert files_under(settings.MEDIA_ROOT) == before
    assert not Evidence.objects.exists() and not ProgressReport.objects.exists()


def test_it_refuses_a_docx_of_more_parts_than_any_word_file_has(world, problem):
    """zipfile would hold every entry of the central directory in memory before we looked."""
    extra = [(f"word/media/p{n}.bin", b"") for n in range(10_001)]
    with pytest.raises(actions.InvalidInput) as refused:
        actions.upload_evidence(
            problem,
            by=world.liaison,
            files=[upload("方案.docx", word_bytes(*extra))],
            category="整改报告",
        )
    assert "方案.docx" in str(refused.value)
    assert not Evidence.objects.exists()
