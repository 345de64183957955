"""Generated documents: 销号审批表, 督办通知单, 整改进展情况报告 and 公示, as .docx and PDF.

`context` builds what a document says from the ledger (already scoped by the
caller); `output` renders it from a replaceable .docx template or an HTML
template (PDF). `make_templates` regenerates the bundled .docx templates.
"""

from .context import (
    DocumentData,
    closing_application_of,
    closing_record,
    progress_report,
    public_notice,
    supervision_notice,
)
from .output import CONTENT_TYPES, DOCX, FORMATS, PDF, docx_template_path, filename, render

KINDS = ("closing_record", "supervision_notice", "progress_report", "public_notice")

__all__ = [
    "CONTENT_TYPES",
    "DOCX",
    "FORMATS",
    "KINDS",
    "PDF",
    "DocumentData",
    "closing_application_of",
    "closing_record",
    "docx_template_path",
    "filename",
    "progress_report",
    "public_notice",
    "render",
    "supervision_notice",
]
