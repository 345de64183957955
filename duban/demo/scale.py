"""A synthetic world of any size for benchmarks (`duban seed_scale --problems N`).

Unlike the demo, problems are written with bulk_create in batches, not through the
actions (100,000 problems through the actions would take hours); the state-dependent
columns are filled in consistently (links, measures, pace bounds, closing
applications and notices), and one audit event records the bulk seed.
"""

import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass

from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from duban.accounts.models import User
from duban.audit import log as audit
from duban.inspections.models import Inspection
from duban.ledger import counts
from duban.ledger.models import (
    ApplicationStatus,
    ClosingApplication,
    Measure,
    NoticeStatus,
    Problem,
    ProblemUnit,
    PublicNotice,
    State,
    UnitRole,
)
from duban.ledger.pace import pace_bounds
from duban.org.models import Membership, Role, Unit

from . import content
from .builder import load_regions

DEFAULT_INSPECTION = "scale-bench"
BENCH_OFFICE = "bench_office"

# How a large ledger spreads over the life cycle (weights).
STATE_WEIGHTS = {
    State.REGISTERED: 3,
    State.ASSIGNED: 5,
    State.CLAIMED: 7,
    State.PLAN_SUBMITTED: 5,
    State.IN_PROGRESS: 45,
    State.CLOSING_APPLIED: 5,
    State.UNDER_ACCEPTANCE: 5,
    State.PUBLIC_NOTICE: 3,
    State.CLOSED: 22,
}
AFTER_CLOSING = {
    State.CLOSING_APPLIED,
    State.UNDER_ACCEPTANCE,
    State.PUBLIC_NOTICE,
    State.CLOSED,
}
COUNTY_DEPARTMENTS = ["生态环境分局", "住房和城乡建设局", "农业农村局", "水利局", "综合行政执法局"]

# category → (title ending, feedback sentence)
ISSUES = {
    "water": [
        ("雨污混接问题突出", "污水管网不完善，雨污混接问题突出，部分生活污水经雨水管网直排入河"),
        ("河道水质不稳定达标", "部分河道断面总磷浓度波动较大，水质不能稳定达标"),
        ("养殖尾水直排", "部分水产养殖塘尾水未经处理直接排入周边河道"),
        ("污水处理设施运行不正常", "农村生活污水处理设施运维不到位，出水水质不达标"),
    ],
    "air": [
        ("VOCs无组织排放", "部分涉VOCs企业废气收集率低，治理设施运行不正常，异味扰民"),
        ("扬尘污染问题", "部分工地和堆场未落实扬尘防控措施，裸土未覆盖"),
        ("餐饮油烟扰民", "部分沿街餐饮单位油烟净化设施未正常使用，油烟直排扰民"),
    ],
    "soil": [
        ("面源污染问题", "部分农田化肥农药施用强度偏高，面源污染问题突出"),
        ("污染地块管控不到位", "部分疑似污染地块未开展调查评估即开发利用"),
    ],
    "solid_waste": [
        ("固废违规堆放", "部分企业工业固体废物露天堆放，未落实防扬散、防流失、防渗漏措施"),
        ("危险废物贮存不规范", "部分企业危险废物贮存场所不规范，管理台账记录不全"),
        ("建筑垃圾乱倾倒", "建筑垃圾偷倒乱倒现象时有发生，消纳场管理不规范"),
    ],
    "noise": [("夜间施工噪声扰民", "部分建筑工地违规夜间施工，噪声扰民投诉集中")],
    "ecology": [
        ("废弃矿山修复滞后", "部分废弃矿山生态修复推进缓慢，宕口裸露"),
        ("违规占用生态红线", "个别项目违规占用生态保护红线，至今未整改到位"),
    ],
    "radiation": [("辐射安全管理不规范", "部分射线装置使用单位辐射安全管理制度不健全")],
    "other": [("“低散乱”企业整治不彻底", "部分已整治的“低散乱”企业死灰复燃")],
}
CATEGORY_WEIGHTS = {
    "water": 35,
    "air": 25,
    "soil": 8,
    "solid_waste": 15,
    "noise": 5,
    "ecology": 7,
    "radiation": 1,
    "other": 4,
}
SOURCE_WEIGHTS = {
    "feedback": 60,
    "complaint": 20,
    "notified": 5,
    "self_check": 8,
    "lookback": 4,
    "media": 3,
}


@dataclass
class Place:
    region: object
    county: object
    departments: list
    township_unit: object | None
    acceptance: object
    leaders: list


@dataclass
class ScaleWorld:
    inspection: Inspection
    office: User
    liaison: User
    places: list


def _unit(region, name, kind, parent=None, short=""):
    unit, _ = Unit.objects.get_or_create(
        region=region, name=name, defaults={"kind": kind, "parent": parent, "short_name": short}
    )
    return unit


def _user(username, name, unit, role):
    user, created = User.objects.get_or_create(username=username, defaults={"display_name": name})
    if created:
        # Benchmarks log in with force_login; nobody signs in as these accounts.
        user.set_unusable_password()
        user.save(update_fields=["password"])
    Membership.objects.get_or_create(user=user, unit=unit, role=role)
    return user


def ensure_world(inspection_code: str = DEFAULT_INSPECTION) -> ScaleWorld:
    """Regions, units and the few accounts the synthetic problems need; reuses what exists."""
    regions = load_regions()
    city = regions[content.CITY]
    office_name, office_short, *_ = content.UNITS["office"]
    office_unit = _unit(city, office_name, "office", short=office_short)
    city_acceptance = _unit(
        city, content.UNITS["city_acceptance"][0], "acceptance", short="市验收组"
    )
    office = _user(BENCH_OFFICE, "基准测试整改办", office_unit, Role.OFFICE)
    places = []
    liaison = None
    for county in sorted(
        (r for r in regions.values() if r.level == "county"), key=lambda r: r.code
    ):
        gov = _unit(county, f"{county.name}人民政府", "government", short=f"{county.name}政府")
        departments = [gov] + [
            _unit(county, f"{county.name}{d}", "department", short=f"{county.name[:2]}{d[:2]}")
            for d in COUNTY_DEPARTMENTS
        ]
        acceptance = _unit(county, f"{county.name}督察整改验收组", "acceptance", short="验收组")
        leader = _user(
            f"bench_leader_{county.code}", f"{county.name}包联领导", gov, Role.LEAD_OFFICIAL
        )
        if liaison is None:
            liaison = _user("bench_liaison", "基准测试联络员", departments[1], Role.LIAISON)
        townships = [r for r in regions.values() if r.parent_id == county.pk]
        places.append(Place(county, county, departments, None, acceptance, [leader]))
        for township in sorted(townships, key=lambda r: r.code):
            suffix = "办事处" if township.name.endswith("街道") else "人民政府"
            unit = _unit(township, f"{township.name}{suffix}", "government", parent=gov)
            places.append(Place(township, county, departments, unit, acceptance, [leader]))
    inspection, _ = Inspection.objects.get_or_create(
        code=inspection_code,
        defaults={
            "name": "合成基准数据（seed_scale）",
            "kind": "self",
            "round_label": "基准测试",
            "target_region": city,
            "feedback_date": timezone.localdate() - dt.timedelta(days=400),
            "acceptance_levels": ["county", "city"],
        },
    )
    assert city_acceptance  # the city acceptance team exists for the city level
    return ScaleWorld(inspection, office, liaison, places)


def _weighted(rng, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _problem(rng, world: ScaleWorld, pk: int, number: int, now: dt.datetime) -> tuple:
    """One synthetic problem as a dict of column values, and its co-operating/implementing units."""
    place = rng.choice(world.places)
    state = _weighted(rng, STATE_WEIGHTS)
    category = _weighted(rng, CATEGORY_WEIGHTS)
    short, long = rng.choice(ISSUES[category])
    where = place.county.name + (place.region.name if place.region != place.county else "")
    lead = rng.choice(place.departments)
    assigned_at = None
    if state != State.REGISTERED:
        assigned_at = now - dt.timedelta(days=rng.randint(20, 700), minutes=rng.randint(0, 1440))
    created_at = (assigned_at or now) - dt.timedelta(days=rng.randint(0, 10))
    # As Problem.start_date: the pace runs from assignment, or from registration before it.
    start = timezone.localdate(assigned_at or created_at)
    kind = rng.random()
    by_date, immediate, ongoing = kind < 0.9, 0.85 < kind < 0.95, kind >= 0.9
    deadline = start + dt.timedelta(days=rng.randint(60, 900)) if by_date else None
    if state in AFTER_CLOSING:
        percent = 100
    elif state == State.IN_PROGRESS:
        percent = rng.choice([0, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95])
    else:
        percent = 0
    behind, ahead = pace_bounds(start=start, deadline=deadline, percent=percent, milestones=[])
    levels = world.inspection.acceptance_levels
    shared = rng.random() < 0.1
    official = rng.choice(place.leaders) if rng.random() < 0.8 else None
    row = {
        "id": pk,
        "inspection_id": world.inspection.pk,
        "source": _weighted(rng, SOURCE_WEIGHTS),
        "feedback_text": f"督察发现，{where}{long}，群众反映强烈，整改工作推进不力。",
        "ledger_number": f"合成第{number}号",
        "title": f"{where}{short}",
        "category": category,
        "nature": "shared" if shared else "individual",
        "shared_level": rng.choice(["policy", "technical", "management"]) if shared else "",
        "is_key": rng.random() < 0.15,
        "is_difficult": rng.random() < 0.08,
        "is_sensitive": rng.random() < 0.05,
        "region_id": place.region.pk,
        "region_path": place.region.path,
        "lead_unit_id": lead.pk,
        "lead_official_id": official.pk if official else None,
        "acceptance_unit_id": place.acceptance.pk,
        "target": f"按期完成{short}整改，达到相关标准要求。",
        "deadline_immediate": immediate,
        "deadline_by_date": by_date,
        "deadline_ongoing": ongoing,
        "deadline": deadline,
        "original_deadline": deadline,
        "state": state,
        "acceptance_level": rng.randrange(len(levels)) if state == State.UNDER_ACCEPTANCE else 0,
        "progress_percent": percent,
        "pace_behind_from": behind,
        "pace_ahead_until": ahead,
        "assigned_at": assigned_at,
        "closed_at": now - dt.timedelta(days=rng.randint(0, 60)) if state == State.CLOSED else None,
        "last_report_at": now - dt.timedelta(days=rng.randint(0, 40)) if percent else None,
        "created_at": created_at,
        "updated_at": now,
    }
    others = [d for d in place.departments if d != lead]
    co = rng.choice(others) if rng.random() < 0.4 else None
    implementing = place.township_unit if rng.random() < 0.5 else None
    return row, lead, co, implementing


class _Inserter:
    """Plain multi-row INSERTs: Django's bulk_create spends most of its time
    compiling SQL per object, which at 100,000 problems is the difference between one and
    several minutes. Values are adapted the way Django's backends store them."""

    def __init__(self, model, with_pk: bool = False):
        self.model = model
        self.fields = [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]
        ops = connection.ops
        self.adapters = []
        for f in self.fields:
            kind = f.get_internal_type()
            if kind == "DateTimeField":
                self.adapters.append(ops.adapt_datetimefield_value)
            elif kind == "DateField":
                self.adapters.append(ops.adapt_datefield_value)
            else:
                self.adapters.append(None)
        self.defaults = {f.attname: f.get_default() for f in self.fields}
        qn = ops.quote_name
        self.head = f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(qn(f.column) for f in self.fields)}) VALUES "
        self.row_marks = "(" + ", ".join(["%s"] * len(self.fields)) + ")"
        # Multi-row VALUES, kept under SQLite's and PostgreSQL's limits on parameters.
        self.rows_per_statement = max(1, 30000 // len(self.fields))

    def insert(self, cursor, rows: list[dict]) -> None:
        values = []
        for row in rows:
            for f, adapt in zip(self.fields, self.adapters, strict=True):
                value = row.get(f.attname, self.defaults.get(f.attname))
                if adapt is not None and value is not None:
                    value = adapt(value)
                values.append(value)
        width, step = len(self.fields), self.rows_per_statement
        if connection.vendor == "postgresql":
            # COPY is PostgreSQL's bulk path: no SQL text to build or parse per row.
            columns = ", ".join(connection.ops.quote_name(f.column) for f in self.fields)
            table = connection.ops.quote_name(self.model._meta.db_table)
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for start in range(0, len(values), width):
                    copy.write_row(values[start : start + width])
            return
        for start in range(0, len(rows), step):
            count = min(step, len(rows) - start)
            cursor.execute(
                self.head + ", ".join([self.row_marks] * count),
                values[start * width : (start + count) * width],
            )


def _next_id(model) -> int:
    return (model.objects.aggregate(m=Max("id"))["m"] or 0) + 1


def seed(
    problems: int,
    *,
    inspection_code: str = DEFAULT_INSPECTION,
    batch: int = 5000,
    progress=None,
    rng_seed: int | None = None,
) -> dict:
    """Add `problems` synthetic problems; returns a summary (also written to the audit log)."""
    world = ensure_world(inspection_code)
    start_number = Problem.objects.filter(inspection=world.inspection).count() + 1
    rng = random.Random(rng_seed if rng_seed is not None else start_number)
    today, now = timezone.localdate(), timezone.now()
    inserters = {
        Problem: _Inserter(Problem, with_pk=True),
        ClosingApplication: _Inserter(ClosingApplication, with_pk=True),
        ProblemUnit: _Inserter(ProblemUnit),
        Measure: _Inserter(Measure),
        PublicNotice: _Inserter(PublicNotice),
    }
    states: Counter = Counter()
    first_id = last_id = None
    for offset in range(0, problems, batch):
        size = min(batch, problems - offset)
        with transaction.atomic(), connection.cursor() as cursor:
            # Explicit ids (read inside the write transaction) let links and measures refer
            # to the new problems without reading them back.
            pk = _next_id(Problem)
            application_pk = _next_id(ClosingApplication)
            rows, links, measures, applications, notices = [], [], [], [], []
            for i in range(size):
                row, lead, co, implementing = _problem(
                    rng, world, pk + i, start_number + offset + i, now
                )
                rows.append(row)
                state = row["state"]
                states[state] += 1
                # The links carry copies of the problem's state, deadline and region (LINK_FIELDS).
                copies = {
                    "problem_id": row["id"],
                    "state": state,
                    "deadline": row["deadline"],
                    "region_path": row["region_path"],
                }
                links.append({**copies, "unit_id": lead.pk, "role": UnitRole.LEAD})
                if co:
                    links.append({**copies, "unit_id": co.pk, "role": UnitRole.CO})
                if implementing:
                    links.append(
                        {**copies, "unit_id": implementing.pk, "role": UnitRole.IMPLEMENTING}
                    )
                done = state in AFTER_CLOSING
                for order, text in enumerate(MEASURES):
                    measures.append(
                        {
                            "problem_id": row["id"],
                            "order": order,
                            "text": text,
                            "owner": lead.name,
                            "due_date": row["deadline"],
                            "done": done,
                            "note": "",
                        }
                    )
                if done:
                    applications.append(
                        {
                            "id": application_pk,
                            "problem_id": row["id"],
                            "summary": "已按整改方案完成全部整改措施。",
                            "self_check": "经自查，问题已整改到位，达到销号条件。",
                            "status": ApplicationStatus.SUBMITTED
                            if state in (State.CLOSING_APPLIED, State.UNDER_ACCEPTANCE)
                            else ApplicationStatus.ACCEPTED,
                            "submitted_by_id": world.liaison.pk,
                            "submitted_at": now,
                        }
                    )
                    if state in (State.PUBLIC_NOTICE, State.CLOSED):
                        notices.append(
                            {
                                "problem_id": row["id"],
                                "application_id": application_pk,
                                "starts_on": today - dt.timedelta(days=2),
                                "ends_on": today + dt.timedelta(days=5),
                                "text": "已按整改方案完成全部整改措施。",
                                "status": NoticeStatus.OPEN
                                if state == State.PUBLIC_NOTICE
                                else NoticeStatus.ENDED,
                                "opened_at": now,
                            }
                        )
                    application_pk += 1
            inserters[Problem].insert(cursor, rows)
            inserters[ProblemUnit].insert(cursor, links)
            inserters[Measure].insert(cursor, measures)
            inserters[ClosingApplication].insert(cursor, applications)
            inserters[PublicNotice].insert(cursor, notices)
        first_id = first_id or pk
        last_id = pk + size - 1
        if progress:
            progress(size)
    _reset_sequences()
    _analyze()
    counts.rebuild()  # the rows above went in without the actions that keep the counts
    summary = {
        "inspection": world.inspection.code,
        "problems": problems,
        "first_id": first_id,
        "last_id": last_id,
        "states": dict(sorted(states.items())),
    }
    with transaction.atomic():
        audit.record(
            actor=None,
            role="",
            action="seed.scale",
            target=world.inspection,
            before={},
            after=summary,
        )
    return summary


MEASURES = ("1.开展全面排查，建立问题清单", "2.实施整改并开展执法检查")


def _analyze() -> None:
    """Fresh statistics after a bulk load, as a database in service has: the planner needs them.

    On PostgreSQL outside a transaction, VACUUM too, as autovacuum would soon: it marks the
    pages all-visible, so an index that covers a query is read without the table (the unit
    links' index for the list filtered by unit)."""
    tables = [
        m._meta.db_table for m in (Problem, ProblemUnit, Measure, ClosingApplication, PublicNotice)
    ]
    vacuum = connection.vendor == "postgresql" and not connection.in_atomic_block
    with connection.cursor() as cursor:
        for table in tables:
            command = "VACUUM ANALYZE" if vacuum else "ANALYZE"
            cursor.execute(f"{command} {connection.ops.quote_name(table)}")


def _reset_sequences() -> None:
    """PostgreSQL hands out ids from sequences; move them past the ids written explicitly."""
    sql = connection.ops.sequence_reset_sql(no_style(), [Problem, ClosingApplication])
    if sql:
        with connection.cursor() as cursor:
            for statement in sql:
                cursor.execute(statement)
