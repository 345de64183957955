"""Downloads of the documents app: the ledger as .xlsx under the list page's filters."""

import tempfile

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpResponseBadRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from duban.ledger.filters import ProblemFilterForm
from duban.ledger.models import Problem

from .exporting import default_title, write_ledger

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _inspection_name(form, queryset) -> str | None:
    """The inspection named in the title: the one filtered on, or the only one listed."""
    if form.cleaned_data.get("inspection"):
        return form.cleaned_data["inspection"].name
    names = list(queryset.order_by().values_list("inspection__name", flat=True).distinct()[:2])
    return names[0] if len(names) == 1 else None


@login_required
def ledger_export(request):
    """The ledger the list page shows (same scope, same filters, same order), every page of it."""
    user = request.user
    form = ProblemFilterForm(request.GET, user=user)
    if not form.is_valid():
        # Like the list, a filter we cannot read exports nothing rather than everything.
        return HttpResponseBadRequest(
            _("Some filters could not be read: %(errors)s") % {"errors": form.error_text()},
            content_type="text/plain; charset=utf-8",
        )
    queryset = form.apply(Problem.objects.visible_to(user))
    # Rows stream to a temporary file (the workbook is zipped at the end), then to the client.
    out = tempfile.TemporaryFile(suffix=".xlsx")
    write_ledger(
        queryset,
        out,
        title=default_title(_inspection_name(form, queryset)),
        exported_by=user.display_name or user.username,
    )
    out.seek(0)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    name = pgettext("file name", "Rectification ledger")
    filename = f"{name}-{stamp}.xlsx"
    return FileResponse(out, as_attachment=True, filename=filename, content_type=XLSX)
