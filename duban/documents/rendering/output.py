"""Turn a DocumentData into .docx (docxtpl) or PDF (WeasyPrint) bytes.

.docx templates are looked up by file name, first in DUBAN_DOCUMENT_TEMPLATES_DIR
(a setting, or the environment variable of that name) so an office can put its
own layout there, then among the bundled ones in duban/documents/templates_docx/.
A replaced template is outside code, so it runs in a Jinja sandbox with
autoescaping (text with & or < cannot break the document's XML).
"""

import io
from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string
from jinja2.sandbox import SandboxedEnvironment

from .context import DocumentData

BUNDLED_DIR = Path(__file__).resolve().parent.parent / "templates_docx"

DOCX = "docx"
PDF = "pdf"
FORMATS = (DOCX, PDF)
CONTENT_TYPES = {
    DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    PDF: "application/pdf",
}


def templates_dir() -> Path | None:
    configured = settings.DUBAN_DOCUMENT_TEMPLATES_DIR
    return Path(configured) if configured else None


def docx_template_path(kind: str) -> Path:
    """The office's own template of this kind if it has one, else the bundled one."""
    name = f"{kind}.docx"
    custom = templates_dir()
    if custom and (custom / name).is_file():
        return custom / name
    return BUNDLED_DIR / name


def to_docx(data: DocumentData) -> bytes:
    from docxtpl import DocxTemplate

    template = DocxTemplate(str(docx_template_path(data.kind)))
    template.render(data.context, jinja_env=SandboxedEnvironment(autoescape=True))
    out = io.BytesIO()
    template.save(out)
    return out.getvalue()


def _no_fetch(url, *args, **kwargs):
    # Documents are self-contained: never let WeasyPrint reach the network or the disk.
    raise ValueError(f"external resource refused: {url}")


def to_pdf(data: DocumentData) -> bytes:
    from weasyprint import HTML

    html = render_to_string(f"documents/{data.kind}.html", data.context)
    return HTML(string=html, url_fetcher=_no_fetch).write_pdf()


def render(data: DocumentData, fmt: str) -> bytes:
    if fmt == DOCX:
        return to_docx(data)
    if fmt == PDF:
        return to_pdf(data)
    raise ValueError(f"unknown format {fmt!r}")


def filename(data: DocumentData, fmt: str) -> str:
    return f"{data.stem}.{fmt}"
