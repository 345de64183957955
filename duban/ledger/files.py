"""Evidence files: checked by content and size, stored under generated names."""

import hashlib
import io
import uuid
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _

# What a unit may upload as evidence, by detected content type → stored extension.
ALLOWED_TYPES = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/msword": "doc",
    "application/vnd.ms-excel": "xls",
    "video/mp4": "mp4",
}
OOXML = {"docx", "xlsx"}


class FileRejected(ValueError):
    """An upload that is not accepted, with a message for the person uploading it."""


@dataclass
class CheckedFile:
    content: bytes
    content_type: str
    extension: str
    sha256: str
    original_name: str


def _detect(content: bytes, name: str) -> tuple[str, str] | None:
    kind = filetype.guess(content)
    if kind is None:
        return None
    mime = kind.mime
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    # OOXML files are zip archives; the name tells Word from Excel, the content that it is a zip.
    if mime == "application/zip" and suffix in OOXML:
        names = content[:4096]
        marker = b"word/" if suffix == "docx" else b"xl/"
        if marker in content or marker in names:
            for mt, ext in ALLOWED_TYPES.items():
                if ext == suffix:
                    return mt, ext
        return None
    if mime in {"application/x-ole-storage", "application/x-msi"} and suffix in {"doc", "xls"}:
        return (
            ("application/msword", "doc")
            if suffix == "doc"
            else ("application/vnd.ms-excel", "xls")
        )
    if mime in ALLOWED_TYPES:
        return mime, ALLOWED_TYPES[mime]
    return None


def check_upload(uploaded) -> CheckedFile:
    limit = settings.DUBAN_MAX_UPLOAD_MB * 1024 * 1024
    if uploaded.size is not None and uploaded.size > limit:
        raise FileRejected(
            _("%(name)s is %(size).1f MB; files may be at most %(limit)d MB.")
            % {
                "name": uploaded.name,
                "size": uploaded.size / 1048576,
                "limit": settings.DUBAN_MAX_UPLOAD_MB,
            }
        )
    content = uploaded.read(limit + 1)
    if len(content) > limit:
        raise FileRejected(
            _("%(name)s is larger than %(limit)d MB.")
            % {"name": uploaded.name, "limit": settings.DUBAN_MAX_UPLOAD_MB}
        )
    if not content:
        raise FileRejected(_("%(name)s is empty.") % {"name": uploaded.name})
    detected = _detect(content, uploaded.name)
    if detected is None:
        raise FileRejected(
            _(
                "%(name)s is not a photo, PDF, Word, Excel or MP4 file (judged by its content, not its name)."
            )
            % {"name": uploaded.name}
        )
    mime, ext = detected
    return CheckedFile(
        content=content,
        content_type=mime,
        extension=ext,
        sha256=hashlib.sha256(content).hexdigest(),
        original_name=uploaded.name[-255:],
    )


def stored_name(extension: str) -> str:
    return f"{uuid.uuid4().hex}.{extension}"


def as_content_file(checked: CheckedFile) -> ContentFile:
    return ContentFile(checked.content, name=stored_name(checked.extension))


def thumbnail_and_exif(checked: CheckedFile):
    """A JPEG thumbnail and the photo's EXIF time and GPS position, where present."""
    if not checked.content_type.startswith("image/"):
        return None, None, None
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(checked.content)) as image:
            if image.width * image.height > 80_000_000:
                raise FileRejected(
                    _("%(name)s has too many pixels.") % {"name": checked.original_name}
                )
            taken_at, position = _exif(image)
            image = ImageOps.exif_transpose(image)
            image.thumbnail((320, 320))
            out = io.BytesIO()
            image.convert("RGB").save(out, "JPEG", quality=80)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise FileRejected(
            _("%(name)s is not a readable image.") % {"name": checked.original_name}
        ) from None
    return ContentFile(out.getvalue(), name=stored_name("jpg")), taken_at, position


def _exif(image):
    import datetime as dt

    from django.utils import timezone

    exif = image.getexif()
    taken_at = None
    raw = exif.get_ifd(0x8769).get(0x9003) or exif.get(0x0132)
    if raw:
        try:
            taken_at = timezone.make_aware(dt.datetime.strptime(str(raw), "%Y:%m:%d %H:%M:%S"))
        except ValueError:
            taken_at = None
    gps = exif.get_ifd(0x8825)
    position = None
    try:
        if gps and 2 in gps and 4 in gps:

            def degrees(values, ref, negative):
                d, m, s = (float(v) for v in values)
                value = d + m / 60 + s / 3600
                return -value if ref == negative else value

            position = (degrees(gps[2], gps.get(1), "S"), degrees(gps[4], gps.get(3), "W"))
    except (TypeError, ValueError, ZeroDivisionError):
        position = None
    return taken_at, position


def evidence_response(evidence):
    """The stored file as a download, or None when the file is missing from storage.

    The same for the web page and the API: an attachment under its original name that a
    browser never sniffs into HTML and no shared cache keeps.
    """
    from django.http import FileResponse

    try:
        handle = evidence.file.open("rb")
    except FileNotFoundError:
        return None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=evidence.original_name,
        content_type=evidence.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
