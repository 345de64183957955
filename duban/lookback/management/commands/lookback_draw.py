"""duban lookback_draw: redo (or make) a look-back draw from its seed.

Without --save nothing is written: the same inputs always print the same problems.
"""

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from duban.core.exceptions import ActionError
from duban.inspections.models import Inspection
from duban.lookback import actions
from duban.org.models import Region


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            _("--as-of: “%(value)s” is not a date like 2026-06-30.") % {"value": value}
        ) from None


class Command(BaseCommand):
    help = "Draw closed problems for a look-back check from a seed, reproducibly."

    def add_arguments(self, parser):
        parser.add_argument("--inspection", required=True, help="inspection code")
        parser.add_argument("--seed", required=True)
        parser.add_argument("--size", type=int, help="how many problems")
        parser.add_argument("--share", help="or what share of the candidates (0 < P <= 1)")
        parser.add_argument("--min-age-days", type=int, default=0, help="days since closing")
        parser.add_argument("--strata", default="", help="unit,category (either or both)")
        parser.add_argument("--region", help="region code (default: the inspection's region)")
        parser.add_argument("--as-of", help="date the age is counted to (default: today)")
        parser.add_argument("--json", action="store_true")
        parser.add_argument("--save", action="store_true", help="record the draw and its checks")

    def handle(self, *args, **options):
        try:
            inspection = Inspection.objects.select_related("target_region").get(
                code=options["inspection"]
            )
        except Inspection.DoesNotExist:
            raise CommandError(
                _("No inspection with code “%(code)s”.") % {"code": options["inspection"]}
            ) from None
        region = inspection.target_region
        if options["region"]:
            try:
                region = Region.objects.get(code=options["region"])
            except Region.DoesNotExist:
                raise CommandError(
                    _("No region with code “%(code)s”.") % {"code": options["region"]}
                ) from None
        strata = [s.strip() for s in options["strata"].split(",") if s.strip()]
        try:
            plan = actions.plan_draw(
                inspection=inspection,
                region=region,
                seed=options["seed"],
                size=options["size"],
                share=options["share"],
                min_age_days=options["min_age_days"],
                strata=strata,
                as_of=_date(options["as_of"]) if options["as_of"] else None,
                with_checkers=options["save"],
            )
            draw = actions.save_draw(plan) if options["save"] else None
        except ActionError as error:
            raise CommandError(str(error)) from None
        result = plan.result
        if options["json"]:
            out = {
                "seed": plan.seed,
                "inspection": inspection.code,
                "candidates": result.candidates,
                "drawn": result.ledger_numbers,
            }
            if draw is not None:
                out["draw"] = draw.pk
            self.stdout.write(json.dumps(out, ensure_ascii=False))
            return
        self.stdout.write(_("seed: %(seed)s") % {"seed": plan.seed})
        self.stdout.write(
            _("inspection: %(inspection)s  region: %(region)s")
            % {"inspection": inspection.code, "region": region.code}
        )
        self.stdout.write(
            _("as of: %(day)s  candidates: %(count)s")
            % {"day": plan.as_of.isoformat(), "count": result.candidates}
        )
        for item in result.drawn:
            line = f"{item.candidate.key}  {item.score[:12]}"
            if item.candidate.stratum:
                line += f"  [{item.candidate.stratum}]"
            if item.checker:
                line += "  " + _("checker: %(name)s") % {"name": item.checker.username}
            self.stdout.write(line)
        if draw is not None:
            self.stdout.write(_("saved as draw %(id)s") % {"id": draw.pk})
