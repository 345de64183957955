"""The ledger list (问题台账): filters, a summary by pace, sort and pages.

Built to stay fast at 100,000 problems: a constant number of queries per page,
the rows fetched one more than a page (to know whether a next page exists)
instead of counting the whole filtered ledger, and the summary by pace fetched by
the page right after it loads (`?part=summary`), so the table never waits for it.
The summary reads the ledger's counters (counts.py) where they can answer, and
counts the matching rows only for filters they do not serve (free text and the like).
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from duban.core import paging
from duban.core.http import page_number
from duban.org.scope import business_region_paths

from .. import counts
from ..filters import SORTS, ProblemFilterForm
from ..models import PACE_FIELDS, Problem
from ..pace import PACE_LIGHT, Pace

# Columns that sort, as (sort key, label source); the header links toggle direction.
SORTABLE = ("number", "deadline", "progress", "updated")
CHECKBOX_FILTERS = ("state", "pace", "category", "source", "flag")


def _pace_summary(by_pace: dict, selected: list[str]) -> tuple[list[dict], int]:
    """The bar's items; the paces partition the ledger, so they sum to the total."""
    summary = [
        {
            "value": pace.value,
            "label": pace.label,
            "light": PACE_LIGHT[pace],
            "count": by_pace[pace.value],
            "active": pace.value in selected,
        }
        for pace in Pace
    ]
    total = sum(item["count"] for item in summary if not selected or item["active"])
    return summary, total


# Exactly what a row of the table shows (and what pace and overdue are computed from);
# a field missing here would cost a query per row, which test_list_view's query count catches.
ROW_FIELDS = (
    *PACE_FIELDS,
    "ledger_number",
    "title",
    "is_key",
    "is_difficult",
    "is_sensitive",
    "is_rebound",
    "inspection__name",
    "lead_unit__name",
    "lead_unit__short_name",
    "lead_official__display_name",
    "lead_official__username",
)


def page_rows(queryset, offset: int, limit: int, keys=None) -> list:
    """The rows of one page, with what the table shows joined in (also timed by bench_ledger).

    `keys`: the rows' ids in order, when a cheaper query gives them (ProblemFilterForm.linked_keys).
    """
    return paging.rows_at(
        queryset.select_related("inspection", "lead_unit", "lead_official").only(*ROW_FIELDS),
        offset,
        limit,
        keys=keys,
    )


@login_required
def problem_list(request):
    user = request.user
    today = timezone.localdate()
    form = ProblemFilterForm(request.GET, user=user)
    part = request.GET.get("part")
    if part == "summary":
        return _summary_part(request, form, today)
    if part == "filters":
        # The filter panel's fields, fetched when it is opened: its choice lists are not
        # worth loading on every page of the ledger.
        return render(
            request,
            "ledger/_filter_fields.html",
            {
                "form": form,
                "lead_officials": form.lead_officials(),
                "check_fields": [form[name] for name in CHECKBOX_FILTERS],
            },
        )
    scoped = Problem.objects.visible_to(user)

    keys = None
    if form.is_valid():
        queryset = form.apply(scoped)
        # Filtered by unit, the page's keys are read off the unit links where they can be.
        keys = form.linked_keys()
        sort = form.cleaned_data.get("sort") or "id"
        status = 200
    else:
        # A filter we cannot read lists nothing rather than quietly listing everything.
        queryset = scoped.none()
        sort = "id"
        status = 400

    size = settings.DUBAN_PAGE_SIZE
    # A page that is not a page number shows the first, as a link cut short would.
    number = page_number(request.GET.get("page")) or 1
    offset = (number - 1) * size
    rows = page_rows(queryset, offset, size + 1, keys=keys)
    page = {
        "number": number,
        "has_previous": number > 1,
        "has_next": len(rows) > size,
        "previous_page_number": number - 1,
        "next_page_number": number + 1,
        "start": offset + 1,
        "end": offset + min(len(rows), size),
    }
    context = {
        "form": form,
        "page": page,
        "problems": rows[:size],
        "today": today,
        "sort": sort,
        "sort_links": {
            key: (f"-{key}" if sort == key else key) for key in SORTABLE if key in SORTS
        },
        "chips": form.active(request.GET),
        "kept_params": [
            (key, value)
            for key, values in request.GET.lists()
            if key not in ("q", "sort", "page", "part")
            for value in values
        ],
        "has_scope": bool(business_region_paths(user)),
        "filtered": any(v for k, v in request.GET.items() if k not in ("page", "sort")),
    }
    template = (
        "ledger/_results.html" if request.headers.get("HX-Request") else "ledger/problem_list.html"
    )
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _summary_part(request, form, today):
    """The counts by pace under the current filters (the pace filter itself left out)."""
    if not form.is_valid():
        return render(request, "ledger/_pace_summary.html", {"summary": []}, status=400)
    scoped = Problem.objects.visible_to(request.user)
    selected = form.cleaned_data.get("pace") or []
    queryset = form.apply(scoped, without=("pace",))
    filters = {k: v for k, v in form.cleaned_data.items() if k not in ("pace", "sort")}
    by_pace = counts.pace_counts(request.user, filters, queryset, today)
    if by_pace is None:
        by_pace = counts.live_pace_counts(queryset, today)
    summary, total = _pace_summary(by_pace, selected)
    context = {
        "form": form,
        "summary": summary,
        "summary_all": sum(item["count"] for item in summary),
        "total": total,
    }
    return render(request, "ledger/_pace_summary.html", context)
