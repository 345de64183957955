"""Small but real evidence files, made in memory: photos (JPEG with EXIF) and PDF documents.

The demo uploads them through the actions, so they pass the same content checks,
hashing and thumbnailing as files a unit uploads.
"""

import datetime as dt
import io
import zlib
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

CJK_FONTS = [
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
]
# Around the centre of 湖州市; photos get a position near it.
HUZHOU = (30.8703, 120.0933)

_font_cache: dict = {}


def _font(size: int):
    from PIL import ImageFont

    if size not in _font_cache:
        path = next((p for p in CJK_FONTS if Path(p).exists()), None)
        # Without a CJK font (fonts-noto-cjk) Chinese would draw as boxes; Pillow's own font
        # then draws the Latin lines only.
        _font_cache[size] = (
            (ImageFont.truetype(path, size), True)
            if path
            else (
                ImageFont.load_default(size),
                False,
            )
        )
    return _font_cache[size]


def _dms(value: float):
    degrees = int(value)
    minutes_float = (value - degrees) * 60
    minutes = int(minutes_float)
    seconds = round((minutes_float - minutes) * 60, 2)
    return (float(degrees), float(minutes), seconds)


def photo(title: str, caption: str, *, seed: int = 0, taken_at: dt.datetime | None = None):
    """A 640×480 site photo: a coloured scene, the caption drawn on it, EXIF time and GPS."""
    from PIL import Image, ImageDraw

    palette = [(74, 124, 89), (70, 110, 150), (150, 120, 80), (100, 100, 110), (60, 130, 130)]
    sky, ground = (180, 205, 225), palette[seed % len(palette)]
    image = Image.new("RGB", (640, 480), sky)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 260, 640, 480), fill=ground)
    # A few shapes so each photo differs (and hashes differently).
    for i in range(4):
        x = 40 + ((seed * 97 + i * 151) % 520)
        h = 60 + ((seed * 31 + i * 47) % 120)
        draw.rectangle((x, 260 - h, x + 70, 260), fill=(200 - i * 20, 190 - i * 15, 170))
    big, cjk = _font(28)
    small, _ = _font(18)
    draw.rectangle((0, 400, 640, 480), fill=(0, 0, 0))
    if cjk:
        draw.text((16, 408), title[:20], font=big, fill=(255, 255, 255))
        draw.text((16, 446), caption[:32], font=small, fill=(230, 230, 230))
    stamp = (taken_at or dt.datetime.now()).strftime("%Y-%m-%d %H:%M")
    draw.text((470, 12), stamp, font=small, fill=(40, 40, 40))

    exif = Image.Exif()
    when = (taken_at or dt.datetime.now()).strftime("%Y:%m:%d %H:%M:%S")
    exif[0x0132] = when  # DateTime
    exif[0x010F] = "Duban demo"  # Make
    exif.get_ifd(0x8769)[0x9003] = when  # DateTimeOriginal
    lat = HUZHOU[0] + ((seed * 37) % 200 - 100) / 1000
    lon = HUZHOU[1] + ((seed * 53) % 200 - 100) / 1000
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", _dms(lat), "E", _dms(lon)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=82, exif=exif)
    return SimpleUploadedFile(f"{title}.jpg", out.getvalue(), content_type="image/jpeg")


def _pdf_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf(name: str, lines: list[str]):
    """A one-page PDF upload named `name`.pdf; see pdf_bytes()."""
    return SimpleUploadedFile(f"{name}.pdf", pdf_bytes(lines), content_type="application/pdf")


def pdf_bytes(lines: list[str]) -> bytes:
    """A one-page PDF (PDF 1.4, Helvetica) with `lines` of Latin text; valid xref table.

    The standard PDF fonts carry no Chinese glyphs, so the document text is in
    pinyin/English while the file name (shown in the catalogue) is Chinese.
    """
    text_ops = ["BT", "/F1 14 Tf", "50 790 Td", "18 TL"]
    for line in lines:
        text_ops.append(f"({_pdf_escape(line)}) Tj T*")
    text_ops.append("ET")
    stream = zlib.compress("\n".join(text_ops).encode("latin-1", "replace"))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()
