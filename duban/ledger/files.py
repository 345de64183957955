"""Evidence files: checked by content and size, stored under generated names.

An upload may be large (DUBAN_MAX_UPLOAD_MB each, twenty at a time): Django spools it to a
temporary file, and nothing here reads a file whole into memory. It is hashed and inspected
in chunks, thumbnailed from a reduced decode, and moved into storage before the transaction
that writes its row (store_upload), so no lock is held while the slow work runs.
"""

import hashlib
import io
import logging
import uuid
import warnings
import zipfile
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.core.files.base import ContentFile, File
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

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
# The part a Word or Excel file cannot be without.
OOXML_MAIN_PART = {"docx": "word/document.xml", "xlsx": "xl/workbook.xml"}
# Office files that may carry macros (VBA): refused by name, whatever their content.
MACRO_SUFFIXES = {
    "docm",
    "dotm",
    "xlsm",
    "xltm",
    "xlam",
    "xlsb",
    "pptm",
    "potm",
    "ppam",
    "ppsm",
    "sldm",
}
# A Word or Excel file has tens to a few thousand parts; more is a zip made to exhaust memory.
MAX_ZIP_ENTRIES = 10_000

CHUNK = 1024 * 1024
THUMBNAIL_SIZE = (320, 320)
# Pixels decoded to make a thumbnail, at most (24 megapixels: under 100 MB even as RGBA).
# A JPEG is decoded at 1/2 to 1/8 scale first, so a photo of any camera fits; a PNG or WebP
# larger than this (a scanned map, or a "pixel flood" of a few KB) is stored without one.
MAX_DECODED_PIXELS = 24_000_000


class FileRejected(ValueError):
    """An upload that is not accepted, with a message for the person uploading it."""


@dataclass
class CheckedFile:
    """An upload whose content, size and fingerprint were checked; `source` is read in chunks."""

    source: File
    content_type: str
    extension: str
    sha256: str
    size: int
    original_name: str


@dataclass
class StoredFile:
    """A checked upload written to storage, with its thumbnail, before any row names it."""

    checked: CheckedFile
    name: str
    thumbnail: str
    taken_at: object
    position: tuple[float, float] | None

    def remove(self) -> None:
        for field, name in (("file", self.name), ("thumbnail", self.thumbnail)):
            if name:
                _field(field).storage.delete(name)


def _suffix(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def _detect(source, head: bytes, name: str) -> tuple[str, str] | None:
    kind = filetype.guess(head)
    if kind is None:
        return None
    mime = kind.mime
    suffix = _suffix(name)
    # OOXML files are zip archives; the name tells Word from Excel, the parts inside that it is one.
    if mime == "application/zip" or ALLOWED_TYPES.get(mime) in OOXML:
        ext = suffix if suffix in OOXML else ALLOWED_TYPES.get(mime)
        if ext not in OOXML:
            return None
        _refuse_zip_with_macros(source, name, OOXML_MAIN_PART[ext])
        return next((mt, e) for mt, e in ALLOWED_TYPES.items() if e == ext)
    if mime in {"application/x-ole-storage", "application/x-msi"} and suffix in {"doc", "xls"}:
        mime = "application/msword" if suffix == "doc" else "application/vnd.ms-excel"
    if mime not in ALLOWED_TYPES:
        return None
    if ALLOWED_TYPES[mime] in {"doc", "xls"}:
        _refuse_ole_with_macros(source, name)
    return mime, ALLOWED_TYPES[mime]


def _not_office(name: str) -> FileRejected:
    return FileRejected(_("%(name)s is not a readable Word or Excel file.") % {"name": name})


def _macros_refused(name: str) -> FileRejected:
    return FileRejected(
        _(
            "%(name)s contains macros (VBA), which are not accepted as evidence; "
            "save it as .docx or .xlsx without macros and upload that."
        )
        % {"name": name}
    )


def _zip_entry_count(source) -> int | None:
    """The number of entries the zip's end record declares, read before zipfile lists them."""
    source.seek(0, io.SEEK_END)
    size = source.tell()
    tail_size = min(size, 65_536 + 22)
    source.seek(size - tail_size)
    tail = source.read(tail_size)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        return None
    count = int.from_bytes(tail[at + 10 : at + 12], "little")
    return None if count == 0xFFFF else count  # 0xFFFF: a zip64 archive, not an Office file


def _refuse_zip_with_macros(source, name: str, main_part: str) -> None:
    count = _zip_entry_count(source)
    if count is None or count > MAX_ZIP_ENTRIES:
        raise _not_office(name)
    source.seek(0)
    try:
        with zipfile.ZipFile(source) as archive:
            names = archive.namelist()
            lowered = {n.lower() for n in names}
            if any(n.endswith("vbaproject.bin") or n.endswith("vbadata.xml") for n in lowered):
                raise _macros_refused(name)
            if "[content_types].xml" in lowered:
                part = next(n for n in names if n.lower() == "[content_types].xml")
                with archive.open(part) as handle:
                    types = handle.read(1_048_576)
                if b"macroenabled" in types.lower():
                    raise _macros_refused(name)
            if main_part not in lowered:
                raise _not_office(name)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError):
        raise _not_office(name) from None


def _refuse_ole_with_macros(source, name: str) -> None:
    """Word 97–2003 keeps macros in a "Macros" storage, Excel in "_VBA_PROJECT_CUR"."""
    import olefile

    source.seek(0)
    try:
        with olefile.OleFileIO(source) as ole:
            for entry in ole.listdir(streams=True, storages=True):
                parts = [p.lower() for p in entry]
                if parts[0] in {"macros", "_vba_project_cur"} or "vba" in parts:
                    raise _macros_refused(name)
    except FileRejected:
        raise
    except Exception:  # olefile raises many kinds on a damaged file
        raise _not_office(name) from None


def check_upload(uploaded) -> CheckedFile:
    limit = settings.DUBAN_MAX_UPLOAD_MB * 1024 * 1024
    too_large = _("%(name)s is %(size).1f MB; files may be at most %(limit)d MB.")
    if uploaded.size is not None and uploaded.size > limit:
        raise FileRejected(
            too_large
            % {
                "name": uploaded.name,
                "size": uploaded.size / 1048576,
                "limit": settings.DUBAN_MAX_UPLOAD_MB,
            }
        )
    if _suffix(uploaded.name) in MACRO_SUFFIXES:
        raise FileRejected(
            _(
                "%(name)s is a macro-enabled Office file, which is not accepted as evidence; "
                "save it as .docx or .xlsx without macros and upload that."
            )
            % {"name": uploaded.name}
        )
    digest, size, head = hashlib.sha256(), 0, b""
    for chunk in uploaded.chunks(CHUNK):
        if len(head) < 8192:
            head += chunk[: 8192 - len(head)]
        size += len(chunk)
        if size > limit:
            raise FileRejected(
                _("%(name)s is larger than %(limit)d MB.")
                % {"name": uploaded.name, "limit": settings.DUBAN_MAX_UPLOAD_MB}
            )
        digest.update(chunk)
    if not size:
        raise FileRejected(_("%(name)s is empty.") % {"name": uploaded.name})
    detected = _detect(uploaded, head, uploaded.name)
    if detected is None:
        raise FileRejected(
            _(
                "%(name)s is not a photo, PDF, Word, Excel or MP4 file (judged by its content, not its name)."
            )
            % {"name": uploaded.name}
        )
    mime, ext = detected
    return CheckedFile(
        source=uploaded,
        content_type=mime,
        extension=ext,
        sha256=digest.hexdigest(),
        size=size,
        original_name=uploaded.name[-255:],
    )


def stored_name(extension: str) -> str:
    return f"{uuid.uuid4().hex}.{extension}"


def _field(name: str):
    from .models import Evidence

    return Evidence._meta.get_field(name)


def store_upload(checked: CheckedFile) -> StoredFile:
    """Thumbnail the file, then write it to storage (a move when Django spooled it to disk).

    Runs before the transaction that writes the row; the caller removes the files if that fails.
    """
    thumbnail, taken_at, position = thumbnail_and_exif(checked)
    file_field, thumb_field = _field("file"), _field("thumbnail")
    thumb_name = ""
    if thumbnail is not None:
        # Named by its own sha256, so serving it can check it was not changed on disk.
        digest = hashlib.sha256(thumbnail).hexdigest()
        thumb_name = thumb_field.storage.save(
            thumb_field.generate_filename(None, f"{digest}.jpg"), ContentFile(thumbnail)
        )
    try:
        checked.source.seek(0)
        name = file_field.storage.save(
            file_field.generate_filename(None, stored_name(checked.extension)),
            checked.source,
        )
    except BaseException:
        if thumb_name:
            thumb_field.storage.delete(thumb_name)
        raise
    return StoredFile(checked, name, thumb_name, taken_at, position)


def thumbnail_and_exif(checked: CheckedFile):
    """JPEG thumbnail bytes and the photo's EXIF time and GPS position, where present.

    The header gives the size and EXIF without decoding; a JPEG is then decoded at reduced
    scale. An image still over MAX_DECODED_PIXELS gets no thumbnail rather than the memory.
    """
    if not checked.content_type.startswith("image/"):
        return None, None, None
    from PIL import Image, UnidentifiedImageError

    unreadable = FileRejected(
        _("%(name)s is not a readable image.") % {"name": checked.original_name}
    )
    checked.source.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(checked.source)
    except Image.DecompressionBombError:
        return None, None, None  # over Pillow's own limit: no thumbnail, as below
    except (UnidentifiedImageError, OSError, ValueError):
        raise unreadable from None
    with image:
        exif = Image.Exif()
        if image.info.get("exif"):
            exif.load(image.info["exif"])  # getexif() would decode a whole PNG to look for it
        taken_at, position = _exif(exif)
        image.draft(None, (THUMBNAIL_SIZE[0] * 2, THUMBNAIL_SIZE[1] * 2))
        if image.width * image.height > MAX_DECODED_PIXELS:
            logger.info("No thumbnail for %s: %d x %d pixels", checked.original_name, *image.size)
            return None, taken_at, position
        try:
            image.thumbnail(THUMBNAIL_SIZE)
            thumb = image.convert("RGB")
            if (method := ORIENTATIONS.get(exif.get(0x0112))) is not None:
                thumb = thumb.transpose(method)
            out = io.BytesIO()
            thumb.save(out, "JPEG", quality=80)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
            raise unreadable from None
    return out.getvalue(), taken_at, position


def _orientations():
    from PIL import Image

    t = Image.Transpose
    return {
        2: t.FLIP_LEFT_RIGHT,
        3: t.ROTATE_180,
        4: t.FLIP_TOP_BOTTOM,
        5: t.TRANSPOSE,
        6: t.ROTATE_270,
        7: t.TRANSVERSE,
        8: t.ROTATE_90,
    }


ORIENTATIONS = _orientations()


def _exif(exif):
    import datetime as dt

    from django.utils import timezone

    taken_at = None
    try:
        raw = exif.get_ifd(0x8769).get(0x9003) or exif.get(0x0132)
        gps = exif.get_ifd(0x8825)
    except Exception:  # a damaged EXIF block is no reason to refuse the photo
        return None, None
    if raw:
        try:
            taken_at = timezone.make_aware(dt.datetime.strptime(str(raw), "%Y:%m:%d %H:%M:%S"))
        except ValueError:
            taken_at = None
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


# --- serving -------------------------------------------------------------------------------


class StoredFileChanged(Exception):
    """A stored file no longer matches the fingerprint taken when it was uploaded."""

    def __init__(self):
        super().__init__(
            _(
                "This file was changed on the server after it was uploaded: its sha256 no "
                "longer matches the one recorded, so it is not served. The finding has been "
                "logged; tell the system administrator."
            )
        )


def thumbnail_sha256(name: str) -> str:
    """The sha256 a thumbnail is named by ("" for one stored before thumbnails were)."""
    stem = name.rsplit("/", 1)[-1].split(".", 1)[0][:64]
    return stem if len(stem) == 64 and all(c in "0123456789abcdef" for c in stem) else ""


def _open_verified(field, sha256: str, evidence, by, part: str):
    """The stored file opened after reading it once in chunks to check its sha256.

    The same handle is then served, so a file swapped in after the check is not what goes out.
    """
    handle = field.open("rb")
    digest = hashlib.sha256()
    for chunk in iter(lambda: handle.read(CHUNK), b""):
        digest.update(chunk)
    found = digest.hexdigest()
    if found != sha256:
        handle.close()
        logger.warning(
            "Evidence %s: stored %s %s has sha256 %s, recorded %s; refused to serve it",
            evidence.pk,
            part,
            field.name,
            found,
            sha256,
        )
        from .actions import record_changed_file

        record_changed_file(evidence, by=by, part=part, found=found)
        raise StoredFileChanged()
    handle.seek(0)
    return handle


def evidence_response(evidence, *, by):
    """The stored file as a download, or None when the file is missing from storage.

    The same for the web page and the API: an attachment under its original name that a
    browser never sniffs into HTML and no shared cache keeps. Raises StoredFileChanged when
    the file no longer matches its recorded sha256.
    """
    from django.http import FileResponse

    try:
        handle = _open_verified(evidence.file, evidence.sha256, evidence, by, "file")
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


def thumbnail_response(evidence, *, by):
    """The photo's thumbnail, or None when it has none (or one that cannot be checked)."""
    from django.http import FileResponse

    if not evidence.has_thumbnail:
        return None
    expected = thumbnail_sha256(evidence.thumbnail.name)
    try:
        handle = _open_verified(evidence.thumbnail, expected, evidence, by, "thumbnail")
    except FileNotFoundError:
        return None
    response = FileResponse(handle, content_type="image/jpeg")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response
