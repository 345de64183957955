from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    """Excel, Word and PDF in and out: the documents offices already exchange."""

    name = "duban.documents"
    label = "documents"
    verbose_name = _("Documents")
