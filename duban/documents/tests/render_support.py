"""Opening generated documents again, as a reader would: python-docx, pypdf and pdftoppm."""

import io
import subprocess
import tempfile
from pathlib import Path

from docx import Document
from PIL import Image
from pypdf import PdfReader


def docx_text(content: bytes) -> str:
    """Every paragraph, table cell, header and footer of a .docx, one per line."""
    doc = Document(io.BytesIO(content))
    lines = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            lines.extend(cell.text for cell in row.cells)
    for section in doc.sections:
        lines.extend(p.text for p in section.header.paragraphs)
    return "\n".join(lines)


def docx_table_rows(content: bytes) -> list[list[str]]:
    doc = Document(io.BytesIO(content))
    return [[cell.text for cell in row.cells] for table in doc.tables for row in table.rows]


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def first_page_png(content: bytes) -> Image.Image:
    """Page 1 rendered by poppler at 50 dpi."""
    with tempfile.TemporaryDirectory() as folder:
        pdf = Path(folder) / "doc.pdf"
        pdf.write_bytes(content)
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "50",
                "-f",
                "1",
                "-l",
                "1",
                str(pdf),
                str(Path(folder) / "p"),
            ],
            check=True,
            capture_output=True,
        )
        pngs = sorted(Path(folder).glob("p*.png"))
        assert pngs, "pdftoppm wrote no page"
        image = Image.open(pngs[0])
        image.load()
        return image


def dark_pixels(image: Image.Image) -> int:
    """How many pixels are clearly not white: text was drawn, not empty boxes only."""
    grey = image.convert("L")
    return sum(count for value, count in enumerate(grey.histogram()) if value < 128)
