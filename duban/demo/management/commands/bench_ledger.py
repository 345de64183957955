"""duban bench_ledger --problems N: how fast the ledger pages answer at scale.

Builds (or tops up) the synthetic world with seed_scale, then times, with Django's
test Client logged in as a whole-city office user, the ledger list (first page and
a deep filtered page), a detail page, the counts by pace (from the counters and counted
live), and the same 50 rows fetched by hand-written SQL; prints p50/p95 and the ratio
page/raw, and the queries per list page. Works on whatever DATABASE_URL points to.
"""

import statistics

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from duban.accounts.models import User
from duban.demo import scale
from duban.demo.timing import percentile, timed
from duban.inspections.models import Inspection
from duban.ledger import counts
from duban.ledger.filters import ProblemFilterForm
from duban.ledger.models import Problem
from duban.ledger.views.listing import page_rows
from duban.org.models import Region, Unit
from duban.org.scope import under

DEEP_FILTER = {"state": "in_progress", "category": "water", "page": "20"}


def raw_rows_sql(with_filter: bool) -> str:
    """The list page's rows by hand: scope, filters, order, page; joins what the table shows."""
    p, i, u, o = (
        Problem._meta.db_table,
        Inspection._meta.db_table,
        Unit._meta.db_table,
        User._meta.db_table,
    )
    where = "p.region_path LIKE %s"
    if with_filter:
        where += " AND p.state = %s AND p.category = %s"
    return f"""
        SELECT p.id, p.ledger_number, p.title, p.is_key, p.is_difficult, p.is_sensitive,
               p.is_rebound, p.deadline, p.deadline_immediate, p.deadline_by_date,
               p.deadline_ongoing, p.state, p.progress_percent, p.pace_behind_from,
               p.pace_ahead_until, i.name, u.name, u.short_name, o.display_name, o.username
        FROM {p} p
        JOIN {i} i ON i.id = p.inspection_id
        LEFT JOIN {u} u ON u.id = p.lead_unit_id
        LEFT JOIN {o} o ON o.id = p.lead_official_id
        WHERE {where}
        ORDER BY p.id
        LIMIT 50 OFFSET %s
    """


class Command(BaseCommand):
    help = "Benchmark the ledger list and detail pages against raw SQL at N problems."

    def add_arguments(self, parser):
        parser.add_argument("--problems", type=int, default=100_000)
        parser.add_argument("--repeat", type=int, default=30, help="Timed requests per case.")
        parser.add_argument("--inspection", default=scale.DEFAULT_INSPECTION)

    def handle(self, *args, problems, repeat, inspection, **options):
        existing = Problem.objects.count()
        if existing < problems:
            self.stdout.write(
                _("%(have)d problems in the database; adding %(add)d with seed_scale …")
                % {"have": existing, "add": problems - existing}
            )
            call_command(
                "seed_scale",
                problems=problems - existing,
                inspection=inspection,
                stdout=self.stdout,
            )
        world = scale.ensure_world(inspection)
        office = world.office
        city = Region.objects.get(code="330500")
        scoped_total = Problem.objects.filter(under("region_path", city.path)).count()

        client = Client()
        client.force_login(office)
        list_url = reverse("ledger:problem_list")
        deep_query = DEEP_FILTER
        sample = (
            Problem.objects.filter(inspection=world.inspection, state="in_progress")
            .order_by("id")
            .values_list("id", flat=True)
        )
        detail_id = (
            sample[len(sample) // 2] if sample else Problem.objects.values_list("id").first()
        )
        detail_url = reverse("ledger:problem_detail", args=[detail_id])

        def get(url, data=None):
            def fetch():
                response = client.get(url, data or {})
                if response.status_code != 200:
                    raise CommandError(f"GET {url} {data or ''} answered {response.status_code}")
                response.content  # noqa: B018 (rendered in full, as a browser would receive it)

            return fetch

        def raw(with_filter, offset):
            params = [f"{city.path}%"]
            if with_filter:
                params += [deep_query["state"], deep_query["category"]]
            params.append(offset)
            sql = raw_rows_sql(with_filter)

            def fetch():
                with connection.cursor() as cursor:
                    cursor.execute(sql, params)
                    rows = cursor.fetchall()
                return rows

            return fetch

        def orm(data, offset):
            """The page's own rows query (scope, filter form, page_rows) without the page around it."""

            def fetch():
                form = ProblemFilterForm(data or {}, user=office)
                form.is_valid()
                return page_rows(form.apply(Problem.objects.visible_to(office)), offset, 50)

            return fetch

        def live_counts():
            return counts.live_pace_counts(Problem.objects.visible_to(office), timezone.localdate())

        deep_offset = (int(deep_query["page"]) - 1) * settings.DUBAN_PAGE_SIZE
        cases = [
            (_("list, first page"), get(list_url), raw(False, 0), orm(None, 0)),
            (
                _("list, filtered page 20"),
                get(list_url, deep_query),
                raw(True, deep_offset),
                orm(deep_query, deep_offset),
            ),
            (_("detail page"), get(detail_url), None, None),
            # The summary bar's counts by pace: from the counters, and counted over the rows
            # as before them (what a filter the counters do not serve still costs).
            (_("pace counts"), get(list_url, {"part": "summary"}), None, None),
            (_("pace counts, live"), live_counts, None, None),
        ]

        queries = {}
        for label, url, data in (
            ("first", list_url, None),
            ("deep", list_url, deep_query),
            ("detail", detail_url, None),
        ):
            with CaptureQueriesContext(connection) as captured:
                get(url, data)()
            queries[label] = len(captured.captured_queries)

        vendor = connection.vendor
        self.stdout.write(
            _(
                "Database: %(vendor)s; %(total)d problems, %(scoped)d in the office's scope; %(r)d runs each."
            )
            % {
                "vendor": vendor,
                "total": Problem.objects.count(),
                "scoped": scoped_total,
                "r": repeat,
            }
        )
        case = _("case")  # xgettext skips calls in f-strings
        header = (
            f"{case:<26} {'p50 ms':>8} {'p95 ms':>8} {'raw p50':>8} {'raw p95':>8} "
            f"{'page/raw p95':>13} {'rows p95':>9} {'rows/raw p95':>13}"
        )
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        results = []
        for label, page_fn, raw_fn, orm_fn in cases:
            page = timed(page_fn, repeat)
            row = {
                "case": label,
                "p50": statistics.median(page),
                "p95": percentile(page, 0.95),
            }
            if raw_fn:
                rows = raw_fn()
                if len(rows) != settings.DUBAN_PAGE_SIZE:
                    self.stderr.write(f"raw SQL for {label} returned {len(rows)} rows")
                raw_samples = timed(raw_fn, repeat)
                row["raw_p50"] = statistics.median(raw_samples)
                row["raw_p95"] = percentile(raw_samples, 0.95)
                ratio = f"{row['p95'] / row['raw_p95']:.1f}×"
                raw_text = f"{row['raw_p50']:>8.2f} {row['raw_p95']:>8.2f}"
                # The page's own rows query through the ORM, against the same rows by hand.
                row["rows_p95"] = percentile(timed(orm_fn, repeat), 0.95)
                rows_text = f"{row['rows_p95']:>9.2f} {row['rows_p95'] / row['raw_p95']:>12.1f}×"
            else:
                ratio, raw_text, rows_text = "", f"{'':>8} {'':>8}", ""
            results.append(row)
            self.stdout.write(
                f"{label:<26} {row['p50']:>8.1f} {row['p95']:>8.1f} {raw_text} {ratio:>13} {rows_text}"
            )
        self.stdout.write(
            _("Queries per page: list first %(first)d, list filtered %(deep)d, detail %(detail)d.")
            % queries
        )
        return None
