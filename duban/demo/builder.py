"""Build the demo world through the ledger's actions, so its audit chain is the real thing.

Regions, units, people and inspections are plain rows (they have no actions yet);
every problem is registered, assigned, planned, reported, signed, accepted and
closed by the people whose role it is, exactly as in the application.
"""

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.utils import timezone

from duban.accounts.models import User
from duban.inspections.models import Inspection
from duban.ledger import actions
from duban.ledger.models import Problem, State
from duban.org.models import Membership, Region, Unit

from . import content, files

REGIONS_FILE = Path(__file__).resolve().parents[1] / "org" / "data" / "huzhou.json"

ORDER = [
    State.REGISTERED,
    State.ASSIGNED,
    State.CLAIMED,
    State.PLAN_SUBMITTED,
    State.IN_PROGRESS,
    State.CLOSING_APPLIED,
    State.UNDER_ACCEPTANCE,
    State.PUBLIC_NOTICE,
    State.CLOSED,
]
RANK = {state: index for index, state in enumerate(ORDER)}


def load_regions() -> dict[str, Region]:
    """湖州市 and its districts/townships from huzhou.json (GB/T 2260 codes); reuses existing rows."""
    data = json.loads(REGIONS_FILE.read_text(encoding="utf-8"))
    regions = {r.code: r for r in Region.objects.all()}
    # Parents come before children when sorted by code length, then code.
    for item in sorted(data["regions"], key=lambda r: (len(r["code"]), r["code"])):
        if item["code"] not in regions:
            regions[item["code"]] = Region.objects.create(
                code=item["code"],
                name=item["name"],
                level=item["level"],
                parent=regions.get(item["parent"]) if item["parent"] else None,
            )
    return regions


def build_units(regions) -> dict[str, Unit]:
    units = {}
    for key, (name, short, kind, region_code, parent_key) in content.UNITS.items():
        unit, _ = Unit.objects.get_or_create(
            region=regions[region_code],
            name=name,
            defaults={
                "short_name": short,
                "kind": kind,
                "parent": units[parent_key] if parent_key else None,
            },
        )
        units[key] = unit
    return units


@dataclass
class Account:
    username: str
    name: str
    role: str
    unit: str
    note: str


@dataclass
class Demo:
    regions: dict
    units: dict
    users: dict = field(default_factory=dict)
    accounts: list = field(default_factory=list)  # one per role, and the outsider
    staff: list = field(default_factory=list)  # the other units' people
    inspections: dict = field(default_factory=dict)
    liaisons: dict = field(default_factory=dict)  # unit key → user
    heads: dict = field(default_factory=dict)
    photo_seed: int = 0


def _user(demo: Demo, password_hash: str, username: str, name: str, role, unit_key, note: str):
    user, _ = User.objects.get_or_create(username=username, defaults={"display_name": name})
    user.display_name = name
    user.password = password_hash
    user.save()
    if role:
        Membership.objects.get_or_create(user=user, unit=demo.units[unit_key], role=role)
    demo.users[username] = user
    unit_name = demo.units[unit_key].short_name if unit_key else "—"
    return user, Account(username, name, role or "—", unit_name, note)


def build_people(demo: Demo) -> None:
    # Hash the shared demo password once: hashing is deliberately slow (PBKDF2).
    validate_password(content.DEMO_PASSWORD)
    password_hash = make_password(content.DEMO_PASSWORD)
    for username, name, role, unit_key, note in content.ROLE_ACCOUNTS:
        user, account = _user(demo, password_hash, username, name, role, unit_key, note)
        demo.accounts.append(account)
        if role == "liaison":
            demo.liaisons[unit_key] = user
        if role == "unit_head":
            demo.heads[unit_key] = user
    for username, name, unit_key, note in content.OTHER_OFFICIALS:
        demo.staff.append(
            _user(demo, password_hash, username, name, "lead_official", unit_key, note)[1]
        )
    for username, name, unit_key in content.OTHER_ACCEPTORS:
        demo.staff.append(
            _user(demo, password_hash, username, name, "acceptor", unit_key, "验收组")[1]
        )
    # A liaison and a head for every other unit that leads a problem.
    lead_units = []
    for spec in content.PROBLEMS:
        for key in [spec["lead"]] + [c["lead"] for c in spec.get("children", [])]:
            if key not in lead_units:
                lead_units.append(key)
    names = iter(content.STAFF_NAMES)
    for key in lead_units:
        short = demo.units[key].short_name
        if key not in demo.liaisons:
            user, account = _user(
                demo,
                password_hash,
                f"{key}_liaison",
                next(names),
                "liaison",
                key,
                f"{short} 联络员",
            )
            demo.liaisons[key] = user
            demo.staff.append(account)
        if key not in demo.heads:
            user, account = _user(
                demo, password_hash, f"{key}_head", next(names), "unit_head", key, f"{short} 负责人"
            )
            demo.heads[key] = user
            demo.staff.append(account)


def build_inspections(demo: Demo, today: dt.date) -> None:
    for key, spec in content.INSPECTIONS.items():
        values = dict(spec)
        for name in ("stay_start", "stay_end", "feedback_date", "plan_due_date"):
            values[name] = today + dt.timedelta(days=values[name])
        values["target_region"] = demo.regions[values["target_region"]]
        demo.inspections[key] = Inspection.objects.create(**values)


# --- problems ------------------------------------------------------------------------------


def _date_text(day: dt.date | None) -> str:
    return f"{day.year}年{day.month}月{day.day}日前" if day else ""


class Story:
    """Takes each problem of content.PROBLEMS as far through its life as the spec says."""

    def __init__(self, demo: Demo, today: dt.date, progress=None):
        self.demo, self.today, self.progress = demo, today, progress
        self.office = demo.users["office"]
        self.period = f"{today.year}年{today.month}月"

    # who does what
    def liaison(self, problem):
        return self.demo.liaisons[self._key(problem.lead_unit)]

    def head(self, problem):
        return self.demo.heads[self._key(problem.lead_unit)]

    def _key(self, unit):
        return next(k for k, u in self.demo.units.items() if u.pk == unit.pk)

    def acceptor(self, problem):
        level = problem.inspection.acceptance_levels[problem.acceptance_level]
        if level == "city":
            return self.demo.users["city_acceptor"]
        return self.demo.users[content.ACCEPTORS_BY_COUNTY[problem.region.code[:6]]]

    # files
    def _photo(self, problem, caption):
        self.demo.photo_seed += 1
        return files.photo(
            f"{problem.title[:14]}现场照片{self.demo.photo_seed}",
            caption,
            seed=self.demo.photo_seed,
            taken_at=timezone.localtime().replace(tzinfo=None) - dt.timedelta(days=2),
        )

    def _pdf(self, problem, kind):
        lines = {
            "整改报告": ["Rectification report (zhenggai baogao)", "Measures completed: all."],
            "监测报告": ["Monitoring report (jiance baogao)", "Result: meets the standard."],
            "会议纪要": ["Meeting minutes (huiyi jiyao)", "Decision: rectification accepted."],
        }.get(kind, [kind])
        return files.pdf(
            f"{kind}-{problem.ledger_number}",
            [f"Duban demo - {problem.inspection.code} - problem {problem.pk}", *lines],
        )

    # the story of one problem
    def register(self, spec) -> Problem:
        demo = self.demo
        inspection = demo.inspections[spec["inspection"]]
        region = demo.regions[spec["region"]]
        kinds = set((spec.get("kinds") or "by_date").split(","))
        deadline = (
            self.today + dt.timedelta(days=spec["deadline"])
            if spec.get("deadline") is not None
            else None
        )
        official = demo.users[spec["official"]] if spec.get("official") else None
        county = spec["region"][:6]
        acceptance = next(
            (u for u in demo.units.values() if u.kind == "acceptance" and u.region.code == county),
            demo.units["city_acceptance"],
        )
        flags = set(filter(None, (spec.get("flags") or "").split(",")))
        lead = demo.units[spec["lead"]]
        task_force = ""
        if "key" in flags:
            task_force = "\n".join(
                filter(
                    None,
                    [
                        f"组长：{official}" if official else "",
                        f"副组长：{demo.heads[spec['lead']]}（{lead.short_name}）",
                        f"成员：{demo.liaisons[spec['lead']]}（{lead.short_name}）",
                    ],
                )
            )
        fields = {
            "source": spec.get("source", "feedback"),
            "feedback_text": spec["feedback"],
            "ledger_number": spec["number"],
            "title": spec["title"],
            "category": spec["category"],
            "nature": spec.get("nature", "individual"),
            "shared_level": spec.get("shared_level", ""),
            "is_key": "key" in flags,
            "is_difficult": "difficult" in flags,
            "is_sensitive": "sensitive" in flags,
            "region": region,
            "lead_unit": lead,
            "lead_official": official,
            "acceptance_unit": acceptance,
            "task_force": task_force,
            "target": "",
            "deadline_immediate": "immediate" in kinds,
            "deadline_by_date": "by_date" in kinds,
            "deadline_ongoing": "ongoing" in kinds,
            "deadline": deadline,
        }
        return actions.create_problem(
            by=self.office,
            inspection=inspection,
            fields=fields,
            co_units=[demo.units[k] for k in spec.get("co", [])],
            implementing_units=[demo.units[k] for k in spec.get("impl", [])],
        )

    def plan(self, problem, spec):
        target = spec["target"].format(date=_date_text(problem.deadline))
        measures = [
            actions.MeasureInput(text, owner, self.today + dt.timedelta(days=offset))
            for text, owner, offset in spec["measures"]
        ]
        milestones = [
            actions.MilestoneInput(self.today + dt.timedelta(days=offset), percent, text)
            for offset, percent, text in spec.get("milestones", [])
        ]
        actions.save_plan(
            problem,
            by=self.liaison(problem),
            target=target,
            measures=measures,
            milestones=milestones,
        )

    def report(self, problem, percent, text, *, done=False, photo=True):
        measures = list(problem.measures.all())
        updates = [(m.pk, "已完成" if done else "正在推进", done) for m in measures]
        files_ = [self._photo(problem, f"{self.period} 整改进展")] if photo else []
        actions.report_progress(
            problem,
            by=self.liaison(problem),
            period=self.period,
            text=text,
            percent=percent,
            measure_updates=updates,
            files=files_,
        )

    def apply(self, problem, again=False):
        for kind in actions.missing_materials(problem):
            upload = (
                self._photo(problem, "整改完成后现场")
                if kind == "现场照片"
                else self._pdf(problem, kind)
            )
            actions.upload_evidence(
                problem, by=self.liaison(problem), files=[upload], category=kind
            )
        measures = "；".join(m.text for m in problem.measures.all())
        actions.apply_for_closing(
            problem,
            by=self.liaison(problem),
            summary=("已补充整改并再次申请销号。" if again else "")
            + f"已按整改方案完成全部整改措施：{measures}。",
            self_check=f"经自查，“{problem.title}”问题已整改到位，整改资料真实完整，达到销号条件。",
        )

    def sign(self, problem, *, endorse=True):
        actions.sign(
            problem,
            by=self.head(problem),
            statement="经审核，整改情况属实，资料真实完整，同意申请销号。",
        )
        if endorse and problem.lead_official_id:
            actions.endorse(
                problem, by=problem.lead_official, statement="已实地督导检查，整改到位，同意销号。"
            )

    def accept(self, problem):
        level = problem.inspection.acceptance_levels[problem.acceptance_level]
        site_check = (
            "经现场核查，整改措施已全部落实，资料齐全，初验合格。"
            if level == "county"
            else "经验收组现场抽查和资料审核，整改完成，同意通过验收。"
        )
        actions.accept(problem, by=self.acceptor(problem), site_check=site_check)

    def advance(self, problem, spec):
        goal = RANK[spec["state"]]
        office = self.office
        if problem.state == State.REGISTERED and goal > RANK[State.REGISTERED]:
            actions.assign(problem, by=office)
        if problem.state == State.ASSIGNED and goal > RANK[State.ASSIGNED]:
            actions.claim(problem, by=self.liaison(problem))
        if problem.state == State.CLAIMED and (
            goal > RANK[State.CLAIMED] or spec.get("draft_plan")
        ):
            self.plan(problem, spec)
            if spec.get("plan_returned_once") and goal > RANK[State.CLAIMED]:
                actions.submit_plan(problem, by=self.liaison(problem))
                actions.reject_plan(
                    problem,
                    by=office,
                    reasons="整改措施不够具体，请明确每项措施的责任人、完成时限和量化指标。",
                )
                self.plan(problem, spec)
        if problem.state == State.CLAIMED and goal > RANK[State.CLAIMED]:
            actions.submit_plan(problem, by=self.liaison(problem))
        if problem.state == State.PLAN_SUBMITTED and goal > RANK[State.PLAN_SUBMITTED]:
            actions.approve_plan(
                problem, by=office, note="方案可行，同意实施。请按月报送整改进展。"
            )
        if problem.state == State.IN_PROGRESS:
            self._in_progress(problem, spec, goal)
        if problem.state == State.CLOSING_APPLIED and goal > RANK[State.CLOSING_APPLIED]:
            self.sign(problem)
        elif problem.state == State.CLOSING_APPLIED and spec.get("signed") == "head":
            self.sign(problem, endorse=False)
        levels = len(problem.inspection.acceptance_levels)
        target_level = (
            spec.get("level", levels) if spec["state"] == State.UNDER_ACCEPTANCE else levels
        )
        while problem.state == State.UNDER_ACCEPTANCE and problem.acceptance_level < target_level:
            self.accept(problem)
        if problem.state == State.PUBLIC_NOTICE and goal > RANK[State.PUBLIC_NOTICE]:
            notice = actions.open_notice(problem)
            # The notice period is over in this story; the action still checks the date given.
            actions.end_notice(problem, by=office, today=notice.ends_on + dt.timedelta(days=1))
        return problem

    def _in_progress(self, problem, spec, goal):
        if spec.get("extension"):
            ext = spec["extension"]
            extension = actions.request_extension(
                problem,
                by=self.liaison(problem),
                reasons=ext["reasons"],
                efforts=ext["efforts"],
                roadmap=ext["roadmap"],
                new_deadline=problem.deadline + dt.timedelta(days=ext["days"]),
            )
            actions.decide_extension(
                extension, by=self.office, approve=True, note="同意延期，请严格按新的路线图推进。"
            )
        if goal == RANK[State.IN_PROGRESS]:
            percent = spec.get("percent", 0)
            if percent:
                self.report(
                    problem,
                    percent,
                    f"本月持续推进整改：{problem.measures.first().text[2:]}，累计完成约{percent}%。",
                )
        else:
            self.report(problem, 100, "各项整改措施均已完成，整改目标已实现。", done=True)
            self.apply(problem)
            if spec.get("returned_once"):
                self.sign(problem)
                while problem.acceptance_level < len(problem.inspection.acceptance_levels) - 1:
                    self.accept(problem)
                actions.return_application(
                    problem,
                    by=self.acceptor(problem),
                    site_check="现场核查发现尾水总氮在线监测数据仍有个别时段超标。",
                    reasons="请补充连续30日达标的在线监测数据和第三方监测报告后再次申请。",
                )
                problem.refresh_from_db()
                self.report(problem, 100, "已补充连续30日在线监测数据，尾水稳定达标。", done=True)
                actions.upload_evidence(
                    problem,
                    by=self.liaison(problem),
                    files=[self._pdf(problem, "监测报告")],
                    category="监测报告",
                    title="补充第三方监测报告",
                )
                self.apply(problem, again=True)
        if spec.get("pending_extension"):
            ext = spec["pending_extension"]
            actions.request_extension(
                problem,
                by=self.liaison(problem),
                reasons=ext["reasons"],
                efforts=ext["efforts"],
                roadmap=ext["roadmap"],
                new_deadline=(problem.deadline or self.today) + dt.timedelta(days=ext["days"]),
            )

    def run(self) -> list[Problem]:
        problems = []
        for spec in content.PROBLEMS:
            problem = self.register(spec)
            children = spec.get("children")
            if children:
                # The city item is planned and approved, then split to the districts.
                self.advance(problem, {**spec, "state": State.IN_PROGRESS, "percent": 0})
                created = actions.split_problem(
                    problem,
                    by=self.office,
                    children=[
                        {"lead_unit": self.demo.units[c["lead"]], "title": c["title"]}
                        for c in children
                    ],
                )
                for child, child_spec in zip(created, children, strict=True):
                    child.refresh_from_db()
                    self.advance(child, {**spec, **child_spec, "region": None})
                    problems.append(child)
                    self._tick()
            problem.refresh_from_db()
            self.advance(problem, spec)
            problems.append(problem)
            self._tick()
        return problems

    def _tick(self):
        if self.progress:
            self.progress(1)


def problem_count() -> int:
    return len(content.PROBLEMS) + sum(len(s.get("children", [])) for s in content.PROBLEMS)


def build(progress=None, today: dt.date | None = None) -> Demo:
    """The whole demo world; call inside a transaction."""
    today = today or timezone.localdate()
    regions = load_regions()
    demo = Demo(regions=regions, units=build_units(regions))
    build_people(demo)
    build_inspections(demo, today)
    Story(demo, today, progress).run()
    draw_for_look_back(demo)
    return demo


def draw_for_look_back(demo: Demo):
    """A 回头看 draw over the closed problems, as the office makes one on the page; the demo's
    problems were all closed today, so it takes those closed at least 0 days ago."""
    from duban.lookback import actions as lookback

    return lookback.create_draw(
        by=demo.users["office"],
        inspection=demo.inspections["central"],
        seed="2026-demo",
        size=2,
        min_age_days=0,
    )
