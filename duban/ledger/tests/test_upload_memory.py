"""Uploads cost disk, not memory: a progress report of twenty files, nineteen of 49 MB and a
"pixel flood" PNG (a few hundred KB that decode to 79 megapixels), sent over real HTTP to a
Duban server whose address space is capped (RLIMIT_AS) a little above what it uses at rest.

Before uploads were streamed, the same request raised a worker by about a gigabyte and died
under this cap (see capped_server.py for the child process).
"""

import datetime as dt
import hashlib
import http.client
import http.cookies
import io
import json
import os
import re
import struct
import subprocess
import sys
import uuid
import zipfile
import zlib
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from PIL import Image

from .flow import pdf_bytes

MB = 1024 * 1024
LARGE = 49 * MB
# Address space the server may add above what it holds once ready. The old code read every
# file whole (about 930 MB here) and decoded the PNG in full (about 490 MB).
HEADROOM_MB = 256
PROJECT = Path(__file__).resolve().parents[3]


# --- files ---------------------------------------------------------------------------------


def pixel_flood_png(width: int, height: int) -> bytes:
    """A valid black RGB PNG of width × height whose file is tiny: zeros compress ~1000:1."""
    row = b"\x00" * (1 + width * 3)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def camera_jpeg() -> bytes:
    """A 48-megapixel photo taken upright (EXIF orientation 6) on 15 July 2026."""
    exif = Image.Exif()
    exif[0x0112] = 6
    exif.get_ifd(0x8769)[0x9003] = "2026:07:15 10:30:00"
    out = io.BytesIO()
    Image.new("RGB", (8000, 6000), (40, 120, 60)).save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def word_document(path: Path, size: int) -> None:
    """A real .docx (python-docx's) with a large picture part, `size` bytes on disk."""
    import docx

    base = io.BytesIO()
    document = docx.Document()
    document.add_paragraph("整改现场照片汇编")
    document.save(base)
    with zipfile.ZipFile(base) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            target.writestr(item, source.read(item.filename))
        with target.open("word/media/image1.png", "w") as picture:
            remaining = size - 64 * 1024
            block = os.urandom(MB)
            while remaining > 0:
                picture.write(block[: min(MB, remaining)])
                remaining -= MB


class Upload:
    """One file of the multipart body: a head, then filler up to `size`, or a file on disk."""

    def __init__(self, name: str, content_type: str, head: bytes = b"", size=0, path=None):
        self.name, self.content_type, self.head, self.path = name, content_type, head, path
        self.size = path.stat().st_size if path else max(size, len(head))
        self.sha256 = ""

    def chunks(self, filler: bytes):
        digest = hashlib.sha256()
        if self.path:
            with open(self.path, "rb") as handle:
                for block in iter(lambda: handle.read(MB), b""):
                    digest.update(block)
                    yield block
        else:
            digest.update(self.head)
            yield self.head
            remaining = self.size - len(self.head)
            while remaining > 0:
                block = filler[: min(len(filler), remaining)]
                remaining -= len(block)
                digest.update(block)
                yield block
        self.sha256 = digest.hexdigest()


def multipart(fields: dict, uploads: list[Upload], boundary: str):
    """(Content-Length, chunks) of a multipart/form-data body, streamed, never held whole."""
    parts = []
    for key, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        )
    heads = [
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
            f'filename="{u.name}"\r\nContent-Type: {u.content_type}\r\n\r\n'
        ).encode()
        for u in uploads
    ]
    tail = f"--{boundary}--\r\n".encode()
    length = (
        sum(map(len, parts))
        + sum(len(h) + u.size + 2 for h, u in zip(heads, uploads, strict=True))
        + len(tail)
    )
    filler = os.urandom(MB)

    def body():
        yield from parts
        for head, upload in zip(heads, uploads, strict=True):
            yield head
            yield from upload.chunks(filler)
            yield b"\r\n"
        yield tail

    return length, body()


# --- a browser of sorts --------------------------------------------------------------------


class Session:
    """Cookies and CSRF over http.client, one connection per request."""

    def __init__(self, port: int):
        self.port = port
        self.cookies = http.cookies.SimpleCookie()

    def request(self, method, path, body=None, headers=None, length=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        connection.putrequest(method, path)
        cookie = "; ".join(f"{k}={m.value}" for k, m in self.cookies.items())
        for name, value in {**(headers or {}), "Cookie": cookie}.items():
            connection.putheader(name, value)
        if body is not None:
            connection.putheader("Content-Length", str(length))
        connection.endheaders()
        for chunk in body or ():
            connection.send(chunk)
        response = connection.getresponse()
        content = response.read()
        for header in response.msg.get_all("Set-Cookie") or []:
            self.cookies.load(header)
        connection.close()
        return response, content

    def csrf_from(self, path) -> str:
        response, content = self.request("GET", path)
        assert response.status == 200, (path, response.status)
        return re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', content)[1].decode()

    def post_form(self, path, fields: dict):
        body = urlencode(fields).encode()
        return self.request(
            "POST",
            path,
            [body],
            {"Content-Type": "application/x-www-form-urlencoded"},
            len(body),
        )


# --- the server in a child process ---------------------------------------------------------


def _child_database(tmp_path):
    """Environment for the child's own database, and a callable that drops it afterwards."""
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        return {"DATABASE_URL": ""}, lambda: None
    import psycopg

    url = urlsplit(os.environ["DATABASE_URL"])
    name = f"duban_capped_{uuid.uuid4().hex[:8]}"
    admin = urlunsplit(url._replace(path="/postgres"))

    def run(sql):
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(sql)

    run(f'CREATE DATABASE "{name}"')
    return (
        {"DATABASE_URL": urlunsplit(url._replace(path=f"/{name}"))},
        lambda: run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'),
    )


@pytest.fixture
def capped_server(tmp_path):
    media, data, spool = tmp_path / "media", tmp_path / "data", tmp_path / "spool"
    for folder in (media, data, spool):
        folder.mkdir()
    database, drop_database = _child_database(tmp_path)
    env = {
        **os.environ,
        **database,
        "DUBAN_DATA_DIR": str(data),
        "MEDIA_ROOT": str(media),
        "TMPDIR": str(spool),  # where Django spools uploads
        "DJANGO_SETTINGS_MODULE": "duban.settings",
    }
    if not env["DATABASE_URL"]:
        del env["DATABASE_URL"]
    log = open(tmp_path / "server.log", "w+")
    child = subprocess.Popen(
        [sys.executable, "-m", "duban.ledger.tests.capped_server", str(HEADROOM_MB)],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        ready = child.stdout.readline()
        log.seek(0)
        assert ready, f"the capped server did not start:\n{log.read()[-3000:]}"
        info = json.loads(ready)
        yield {**info, "process": child, "media": media, "spool": spool, "log": log}
    finally:
        child.terminate()
        child.wait()
        log.close()
        drop_database()


def _peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status)[1]) / 1024


# --- the test ------------------------------------------------------------------------------


def test_a_report_of_twenty_large_files_and_a_pixel_flood_fits_a_capped_worker(
    capped_server, tmp_path
):
    server = capped_server
    session = Session(server["port"])
    csrf = session.csrf_from("/accounts/login/")
    response, _ = session.post_form(
        "/accounts/login/",
        {
            "csrfmiddlewaretoken": csrf,
            "username": server["username"],
            "password": server["password"],
        },
    )
    assert response.status == 302
    action = reverse("ledger:problem_action", args=[server["problem"], "report_progress"])
    csrf = session.csrf_from(action)
    rest_mb = _peak_rss_mb(server["process"].pid)

    word_document(tmp_path / "汇编.docx", LARGE)
    uploads = [
        Upload("航拍.png", "image/png", pixel_flood_png(10_000, 7_900)),
        Upload("现场照片.jpg", "image/jpeg", camera_jpeg(), LARGE),
        Upload("照片汇编.docx", "application/octet-stream", path=tmp_path / "汇编.docx"),
        Upload(
            "巡查录像.mp4", "video/mp4", b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2", LARGE
        ),
    ] + [
        Upload(f"监测报告{n}.pdf", "application/pdf", pdf_bytes(f"report {n}"), LARGE)
        for n in range(16)
    ]
    assert len(uploads) == 20 and uploads[0].size < 400_000
    fields = {
        "csrfmiddlewaretoken": csrf,
        "period": "2026年7月",
        "text": "已完成现场整治，附航拍图、照片、录像与监测报告。",
        "percent": "60",
        "evidence_category": "现场照片",
    }
    boundary = uuid.uuid4().hex
    length, body = multipart(fields, uploads, boundary)
    response, content = session.request(
        "POST",
        action,
        body,
        {"Content-Type": f"multipart/form-data; boundary={boundary}"},
        length,
    )

    server["log"].seek(0)
    assert response.status == 302, (response.status, server["log"].read()[-3000:])
    assert server["process"].poll() is None
    peak_mb = _peak_rss_mb(server["process"].pid)
    print(
        f"\ncapped server: {length / MB:.0f} MB in one request; address space capped at "
        f"{server['cap_mb']} MB; peak RSS {rest_mb:.0f} MB at rest, {peak_mb:.0f} MB after"
    )

    # The rows: every file once, with the fingerprint the client computed while sending it.
    response, content = session.request("GET", f"/api/v1/problems/{server['problem']}")
    assert response.status == 200
    evidence = {e["original_name"]: e for e in json.loads(content)["evidence"]}
    assert set(evidence) == {u.name for u in uploads}
    for upload in uploads:
        row = evidence[upload.name]
        assert (row["sha256"], row["size"]) == (upload.sha256, upload.size), upload.name
    assert evidence["航拍.png"]["content_type"] == "image/png"
    assert evidence["照片汇编.docx"]["content_type"].endswith("wordprocessingml.document")
    taken_at = dt.datetime.fromisoformat(evidence["现场照片.jpg"]["taken_at"])
    assert taken_at == dt.datetime(2026, 7, 15, 10, 30, tzinfo=ZoneInfo("Asia/Shanghai"))

    # The files: in storage as sent, the spooled copies gone.
    stored = sorted((server["media"] / "evidence").rglob("*.*"))
    assert len(stored) == 20
    on_disk = {hashlib.sha256(p.read_bytes()).hexdigest() for p in stored}
    assert on_disk == {u.sha256 for u in uploads}
    assert not [p for p in server["spool"].rglob("*") if p.is_file()]

    # The thumbnails: the photo's from a reduced decode, turned upright; none for the flood.
    photo = evidence["现场照片.jpg"]["id"]
    response, content = session.request("GET", reverse("ledger:evidence_thumbnail", args=[photo]))
    assert response.status == 200
    with Image.open(io.BytesIO(content)) as thumbnail:
        assert thumbnail.size == (240, 320)
    flood = evidence["航拍.png"]["id"]
    response, _ = session.request("GET", reverse("ledger:evidence_thumbnail", args=[flood]))
    assert response.status == 404
    assert len(list((server["media"] / "thumbs").rglob("*.jpg"))) == 1

    # A large file comes back whole, checked against its sha256 on the way, under the same cap.
    report = evidence["监测报告0.pdf"]
    response, content = session.request(
        "GET", reverse("ledger:evidence_download", args=[report["id"]])
    )
    assert response.status == 200 and hashlib.sha256(content).hexdigest() == report["sha256"]
    assert server["process"].poll() is None
