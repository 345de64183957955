"""Validate every row of a list and register its problems, all or nothing.

parse_file() reads the file without the database; import_file() matches the
units, validates, and — unless it is a dry run or anything is wrong — creates
every problem through duban.ledger.actions.register_problems, in batches that each
commit with their audit events; if any fails, what the import wrote is deleted again.
"""

import re
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from duban.accounts.models import User
from duban.core import limits
from duban.documents.actions import create_units as new_units
from duban.documents.actions import undo_units
from duban.ledger import actions
from duban.org.models import Membership, RegionLevel, Role, Unit, UnitKind
from duban.org.scope import (
    holders_overlapping,
    lies_in_any,
    region_paths_of,
    under,
    widest_first,
)

from . import parsing
from .layout import RawRow, Table, _clean, find_table
from .readers import ImportRejected, read_bytes, read_sheets

NUMBER_MAX = 50  # Problem.ledger_number
UNIT_NAME_MAX = Unit._meta.get_field("name").max_length  # a unit the import may create
CELL_LIMITS = {
    "feedback": limits.LONG_TEXT,
    "target": limits.LONG_TEXT,
    "measures": limits.LONG_TEXT,
    "progress": limits.LONG_TEXT,
    "lead_official": limits.LINE_TEXT,  # kept in the task force when no account matches
}


@dataclass
class RowError:
    sheet: str | None
    row: int | None
    column: str | None
    message: str

    def as_json(self) -> dict:
        return {
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "message": self.message,
        }


@dataclass
class ParsedRow:
    sheet: str
    row: int
    number: str
    feedback: str
    lead_unit: str | None
    co_units: list[str]
    lead_official: str | None
    deadline_kinds: list[str]
    deadline: object  # dt.date | None
    measures: list[str]
    category: str | None
    target: str = ""
    progress: str = ""
    table: Table | None = field(default=None, repr=False)

    def as_json(self) -> dict:
        return {
            "row": self.row,
            "number": self.number,
            "feedback": self.feedback,
            "lead_unit": self.lead_unit,
            "co_units": self.co_units,
            "lead_official": self.lead_official,
            "deadline_kinds": self.deadline_kinds,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "measures": self.measures,
            "category": self.category,
        }


@dataclass
class ImportResult:
    rows: list[ParsedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    unknown_units: list[str] = field(default_factory=list)
    created: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_json(self) -> dict:
        return {
            "ok": self.ok,
            "created": self.created,
            "rows": [r.as_json() for r in self.rows],
            "errors": [e.as_json() for e in self.errors],
            "unknown_units": self.unknown_units,
        }


def _identity(iterable, total=None, desc=None):
    return iterable


# --- reading the cells --------------------------------------------------------------------


def parse_file(source, filename: str, progress=_identity) -> ImportResult:
    """Every problem row of the file with its cells read; no database involved."""
    result = ImportResult()
    try:
        sheets = read_sheets(read_bytes(source), filename)
    except ImportRejected as rejected:
        result.errors.append(RowError(None, None, None, str(rejected)))
        return result
    tables = [t for t in (find_table(s) for s in sheets) if t is not None]
    if not tables:
        result.errors.append(
            RowError(
                None,
                None,
                None,
                _(
                    "No table was found: the header row needs columns such as 反馈问题 and 责任单位."
                ),
            )
        )
        return result
    for table in tables:
        if "deadline" not in table.columns:
            result.errors.append(
                RowError(
                    table.sheet,
                    table.header_row,
                    None,
                    _("The table has no deadline column (整改时限 or 完成时限)."),
                )
            )
        for raw in progress(table.rows, len(table.rows), _("Reading")):
            parsed = _parse_row(table, raw, result.errors)
            if parsed is not None:
                result.rows.append(parsed)
    return result


def _parse_row(table: Table, raw: RawRow, errors: list[RowError]) -> ParsedRow | None:
    cells = raw.cells

    def error(fieldname, message):
        errors.append(RowError(raw.sheet, raw.row, table.header(fieldname), message))

    feedback = cells.get("feedback", "").strip()
    if not feedback:
        error("feedback", _("The problem text is empty."))
    # Cells that become free texts of the problem: the same limits as the form and the API.
    for fieldname, limit in CELL_LIMITS.items():
        message = limits.too_long(cells.get(fieldname, ""), limit, table.header(fieldname))
        if message:
            error(fieldname, message)
    number = cells.get("number", "").strip()
    if len(number) > NUMBER_MAX:
        error("number", _("The number is longer than %(max)d characters.") % {"max": NUMBER_MAX})
    units_text = cells.get("units", "")
    if "lead_unit" in cells or "co_units" in cells:
        units_text = "\n".join(
            part
            for part in (
                units_text,
                cells.get("lead_unit") and "牵头单位：" + cells["lead_unit"],
                cells.get("co_units") and "；配合单位：" + cells["co_units"],
            )
            if part
        )
    units = parsing.split_units(units_text)
    if not units.lead:
        error("units", _("No responsible unit is given."))
    for name in [units.lead, *units.co]:
        if name and len(name) > UNIT_NAME_MAX:
            error(
                "units",
                _("The unit name “%(name)s…” is longer than %(max)d characters.")
                % {"name": name[:20], "max": UNIT_NAME_MAX},
            )
    kinds, deadline = [], None
    if "deadline" in table.columns:
        try:
            parsed = parsing.parse_deadline(cells.get("deadline", ""))
            kinds, deadline = parsed.kinds, parsed.date
        except parsing.CellError as problem:
            error("deadline", str(problem))
    official = cells.get("lead_official", "").strip() or None
    return ParsedRow(
        sheet=raw.sheet,
        row=raw.row,
        number=number,
        feedback=feedback,
        lead_unit=units.lead,
        co_units=units.co,
        lead_official=official,
        deadline_kinds=kinds,
        deadline=deadline,
        measures=parsing.split_measures(cells.get("measures", "")),
        category=raw.category,
        target=cells.get("target", "").strip(),
        progress=cells.get("progress", "").strip(),
        table=table,
    )


# --- matching units -----------------------------------------------------------------------


class Ambiguous(Exception):
    def __init__(self, units):
        self.units = units


def _keys(unit: Unit) -> set[str]:
    """The names a list may use for a unit: full, short, and "市生态环境局" for 湖州市生态环境局."""
    keys = {_clean(unit.name), _clean(unit.short_name)}
    region = unit.region
    level_char = {RegionLevel.CITY: "市", RegionLevel.COUNTY: "区", RegionLevel.PROVINCE: "省"}
    if unit.name.startswith(region.name) and region.level in level_char:
        rest = unit.name[len(region.name) :]
        keys.add(_clean(level_char[region.level] + rest))
        if region.name.endswith("县"):
            keys.add(_clean("县" + rest))
    for key in list(keys):
        keys.add(key.replace("人民政府", "政府"))
    keys.discard("")
    return keys


class UnitDirectory:
    """Known units by every name a list may use for them, preferring those in `scope_path`."""

    def __init__(self, scope_paths=()):
        self.scope_paths = tuple(scope_paths)
        self.by_key: dict[str, list[Unit]] = {}
        # name as written → the unit, None, or the Ambiguous error: a list names few units often.
        self.found: dict[str, Unit | None | Ambiguous] = {}
        for unit in Unit.objects.select_related("region"):
            for key in _keys(unit):
                self.by_key.setdefault(key, []).append(unit)

    def resolve(self, name: str) -> Unit | None:
        if name not in self.found:
            try:
                self.found[name] = self._resolve(name)
            except Ambiguous as ambiguous:
                self.found[name] = ambiguous
        found = self.found[name]
        if isinstance(found, Ambiguous):
            raise Ambiguous(found.units)
        return found

    def _resolve(self, name: str) -> Unit | None:
        key = _clean(name).replace("人民政府", "政府")
        found = self.by_key.get(key, [])
        if len(found) > 1 and self.scope_paths:
            inside = [u for u in found if lies_in_any(u.region.path, self.scope_paths)]
            found = inside or found
        if len(found) > 1:
            raise Ambiguous(found)
        return found[0] if found else None


def _collective_units(region, cache: dict) -> list[Unit]:
    """'各县（市、区）政府' under a lead unit of `region`: the county governments below it."""
    if region.pk not in cache:
        cache[region.pk] = list(
            Unit.objects.filter(
                kind=UnitKind.GOVERNMENT,
                region__level=RegionLevel.COUNTY,
            )
            .filter(under("region__path", region.path))
            .select_related("region")
        )
    return cache[region.pk]


_TITLE = re.compile(r"[(（][^)）]*[)）]")


def _official(name: str | None, cache: dict):
    """The lead official's account, when exactly one lead official has this name."""
    if not name:
        return None
    plain = _TITLE.sub("", name).strip()
    if plain not in cache:
        users = list(
            User.objects.filter(
                is_active=True,
                memberships__role=Role.LEAD_OFFICIAL,
            )
            .filter(Q(display_name=plain) | Q(username=plain))
            .distinct()[:2]
        )
        cache[plain] = users[0] if len(users) == 1 else None
    return cache[plain]


# --- the import ---------------------------------------------------------------------------


def office_memberships(user) -> list[Membership]:
    return list(
        Membership.objects.filter(user=user, role=Role.OFFICE).select_related("unit__region")
    )


def default_actor(inspection):
    """The first active office user whose region covers the inspection's region (or lies in it).

    Offices covering the whole region come first (the shortest region path), then by id.
    """
    target = inspection.target_region.path
    candidates = list(
        holders_overlapping(Role.OFFICE, target)
        .filter(user__is_active=True)
        .select_related("user", "unit__region")
    )
    candidates = widest_first(candidates)
    return candidates[0].user if candidates else None


def import_file(
    source,
    filename: str,
    *,
    inspection=None,
    by=None,
    dry_run: bool = False,
    create_units: bool = False,
    unit_map: dict | None = None,
    progress=_identity,
    settle=None,
    written=None,
) -> ImportResult:
    """Parse, validate and — unless `dry_run` or anything is wrong — register every row.

    `by` must be an office user for a real import; problems are registered in the
    region of their lead unit. With `create_units`, unknown units are created as
    departments in the region of `by`'s office. `unit_map` maps names as written in the
    list to the units a user chose for them (the preview page's "map unknown units").
    `settle(result)` runs last inside the transaction that registers the last rows (a
    background job's outcome commits with them; raising there undoes everything).
    `written(units=[ids], problems=[ids])` runs inside each transaction that writes, with what
    it wrote (a background job notes it, so the sweep can undo the work of a worker that died).
    """
    result = parse_file(source, filename, progress)
    if not result.rows and not result.errors:
        result.errors.append(RowError(None, None, None, _("The list holds no problems.")))
    offices = office_memberships(by) if by is not None else []
    if not dry_run:
        if inspection is None:
            result.errors.append(
                RowError(None, None, None, _("Choose the inspection to import into."))
            )
        if not offices:
            result.errors.append(
                RowError(None, None, None, _("Only rectification office staff may import a list."))
            )
    office_paths = region_paths_of(offices)
    scope_paths = office_paths or (
        (inspection.target_region.path,) if inspection is not None else ()
    )
    directory = UnitDirectory(scope_paths)
    resolved = _resolve_units(result, directory, create_units, office_paths, unit_map or {})
    if dry_run or not result.ok:
        return result
    _commit(result, resolved, inspection, by, offices[0], progress, settle, written)
    return result


def _resolve_units(result, directory, create_units, office_paths, unit_map):
    """Each row's units as Unit objects (None for one still to create); errors for the rest."""
    unknown: dict[str, None] = {}
    resolved = []
    for row in result.rows:
        header = row.table.header("units")

        def find(name, row=row, header=header):
            if parsing.COLLECTIVE.match(name):
                return "collective"
            try:
                unit = unit_map.get(name) or directory.resolve(name)
            except Ambiguous as ambiguous:
                result.errors.append(
                    RowError(
                        row.sheet,
                        row.row,
                        header,
                        _("“%(name)s” matches several units (%(units)s); write its full name.")
                        % {"name": name, "units": "、".join(u.name for u in ambiguous.units)},
                    )
                )
                return "error"
            if unit is None:
                unknown[name] = None
                if not create_units:
                    result.errors.append(
                        RowError(
                            row.sheet,
                            row.row,
                            header,
                            _("“%(name)s” is not a known unit; map it to a unit or create it.")
                            % {"name": name},
                        )
                    )
                return name  # created at commit
            if office_paths and not lies_in_any(unit.region.path, office_paths):
                result.errors.append(
                    RowError(
                        row.sheet,
                        row.row,
                        header,
                        _("%(unit)s lies outside the region of your office.") % {"unit": unit.name},
                    )
                )
            return unit

        lead = find(row.lead_unit) if row.lead_unit else None
        if lead == "collective":
            result.errors.append(
                RowError(
                    row.sheet,
                    row.row,
                    header,
                    _("“%(name)s” names many units; name one lead unit.") % {"name": row.lead_unit},
                )
            )
        co = [find(name) for name in row.co_units]
        if isinstance(lead, Unit):
            row.lead_unit = lead.name
        row.co_units = [
            c.name if isinstance(c, Unit) else n for c, n in zip(co, row.co_units, strict=True)
        ]
        resolved.append((lead, co))
    result.unknown_units = list(unknown)
    return resolved


# Rows registered per transaction: each batch commits with its audit events, so the audit
# chain's head is held for one batch's append at a time (see actions.register_problems).
BATCH = 100


def _commit(result, resolved, inspection, by, office, progress, settle=None, written=None) -> None:
    """Create the missing units, then register every problem in batches that commit one by one.

    All or nothing for whoever imports: a refused row, a failed batch or a failing `settle`
    leaves nothing behind. register_problems() deletes the batches it had committed, and the
    units created here are deleted again, each with its audit event.
    """
    officials: dict = {}
    collectives: dict = {}
    written = written or (lambda **_what: None)
    created_units = _create_units(result.unknown_units, by, office, written)
    try:
        rows = []
        for row, (lead, co) in zip(result.rows, resolved, strict=True):
            lead = created_units.get(lead, lead)
            co_units, seen = [], {lead.pk}
            for item in co:
                units = (
                    _collective_units(lead.region, collectives)
                    if item == "collective"
                    else [created_units.get(item, item)]
                )
                for unit in units:
                    if unit.pk not in seen:
                        seen.add(unit.pk)
                        co_units.append(unit)
            rows.append((row, _item(row, lead, co_units, officials)))

        def finish():
            result.created = len(result.rows)
            if settle is not None:
                settle(result)

        def on_batch(problems):
            written(problems=[p.pk for p in problems])

        _register(rows, inspection, by, result, _progress_of(progress, len(rows)), on_batch, finish)
    except BaseException:
        result.created = 0
        undo_units([u.pk for u in created_units.values()], by=by, role=office.role)
        raise
    if result.errors:
        result.created = 0
        undo_units([u.pk for u in created_units.values()], by=by, role=office.role)


def _create_units(names, by, office, written) -> dict:
    """The units the office chose to create, in their own transaction; noted on the job so
    that an import that leaves nothing removes them again (documents.actions.undo_units)."""
    if not names:
        return {}
    with transaction.atomic():
        created = new_units(names, region=office.unit.region, by=by, role=office.role)
        written(units=[u.pk for u in created.values()])
    return created


def _progress_of(progress, total: int):
    """register_problems()'s progress(done, total) moving the importer's progress iterator."""
    ticks = iter(progress(range(total), total, _("Registering")))
    moved = 0

    def advance(done, _total):
        nonlocal moved
        while moved <= done:
            next(ticks, None)  # the iterator counts a row when asked for the next one
            moved += 1

    return advance


def _item(row, lead, co_units, officials) -> actions.ProblemInput:
    official = _official(row.lead_official, officials)
    task_force = "" if official or not row.lead_official else f"责任领导：{row.lead_official}"
    fields = {
        "feedback_text": row.feedback,
        "ledger_number": row.number,
        "title": parsing.title_from(row.feedback),
        "category": row.category or "other",
        "region": lead.region,
        "lead_unit": lead,
        "lead_official": official,
        "target": row.target,
        "task_force": task_force,
        "deadline_immediate": parsing.IMMEDIATE in row.deadline_kinds,
        "deadline_by_date": parsing.BY_DATE in row.deadline_kinds,
        "deadline_ongoing": parsing.ONGOING in row.deadline_kinds,
        "deadline": row.deadline,
    }
    measures = [actions.MeasureInput(text, owner=lead.name) for text in row.measures]
    return actions.ProblemInput(fields, co_units=co_units, measures=measures)


def _register(rows, inspection, by, result, progress, on_batch, finish) -> None:
    """Register the rows; refused rows become errors and nothing is written."""
    try:
        actions.register_problems(
            by=by,
            inspection=inspection,
            items=[item for _row, item in rows],
            batch_size=BATCH,
            progress=progress,
            on_batch=on_batch,
            finish=finish,
        )
    except actions.InvalidItems as refused:
        for index, error in refused.errors:
            row = rows[index][0]
            column = {"deadline": "deadline", "deadline_by_date": "deadline"}.get(
                getattr(error, "field", None), "units"
            )
            result.errors.append(RowError(row.sheet, row.row, row.table.header(column), str(error)))
