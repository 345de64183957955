"""A small fixture world for tests: a city office, two districts, their units, one user per role, an outsider.

Used by the tests of every app (through the `world` fixture in duban/conftest.py).
"""

import datetime as dt
from dataclasses import dataclass, field

from duban.accounts.models import User
from duban.inspections.models import Inspection
from duban.ledger import actions
from duban.org.models import Membership, Region, Role, Unit, UnitKind

PASSWORD = "Duban-test-2026!"


def browser_log_in(browser, base_url: str, username: str, password: str = PASSWORD, viewport=None):
    """A new browser context logged in as `username` on the live server: (context, page)."""
    import re

    context = browser.new_context(
        locale="zh-CN", viewport=viewport or {"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.locator("form button[type=submit], form input[type=submit]").first.click()
    page.wait_for_url(re.compile(r".*/(ledger|accounts/profile)/.*"))
    return context, page


@dataclass
class World:
    city: Region
    wuxing: Region
    nanxun: Region
    office_unit: Unit
    eco: Unit  # 吴兴区生态环境分局, the lead unit of most test problems
    housing: Unit  # 南浔区住建局, another district's unit
    wuxing_acceptance: Unit
    city_acceptance: Unit
    inspection: Inspection
    users: dict[str, User] = field(default_factory=dict)

    def __getattr__(self, name):
        users = self.__dict__.get("users", {})
        if name in users:
            return users[name]
        raise AttributeError(name)

    def problem(
        self, *, lead_unit=None, region=None, title="燃煤小锅炉淘汰不到位", deadline=None, **fields
    ):
        """A registered problem in 吴兴区 led by 生态环境分局, created by the office."""
        lead_unit = lead_unit or self.eco
        values = {
            "feedback_text": "督察发现，吴兴区燃煤小锅炉淘汰工作推进不力，部分企业仍在使用。",
            "title": title,
            "ledger_number": fields.pop("ledger_number", "第1号"),
            "region": region or lead_unit.region,
            "lead_unit": lead_unit,
            "lead_official": self.users["lead_official"],
            "deadline": deadline or dt.date.today() + dt.timedelta(days=120),
        }
        values.update(fields)
        return actions.create_problem(
            by=self.users["office"],
            inspection=self.inspection,
            fields=values,
            measures=[actions.MeasureInput("全面排查燃煤锅炉", "吴兴区生态环境分局")],
        )


# (username, unit attribute, role)
ROLE_USERS = [
    ("office", "office_unit", Role.OFFICE),
    ("liaison", "eco", Role.LIAISON),
    ("unit_head", "eco", Role.UNIT_HEAD),
    ("lead_official", "eco", Role.LEAD_OFFICIAL),
    ("county_acceptor", "wuxing_acceptance", Role.ACCEPTOR),
    ("city_acceptor", "city_acceptance", Role.ACCEPTOR),
    ("discipline", "office_unit", Role.DISCIPLINE),
    ("auditor", "office_unit", Role.AUDITOR),
    ("sysadmin", "office_unit", Role.SYSADMIN),
    ("viewer", "office_unit", Role.VIEWER),
    ("other_liaison", "housing", Role.LIAISON),
]


def build_world() -> World:
    zhejiang = Region.objects.create(code="330000", name="浙江省", level="province")
    city = Region.objects.create(code="330500", name="湖州市", level="city", parent=zhejiang)
    wuxing = Region.objects.create(code="330502", name="吴兴区", level="county", parent=city)
    nanxun = Region.objects.create(code="330503", name="南浔区", level="county", parent=city)
    office_unit = Unit.objects.create(
        name="湖州市生态环境保护督察整改工作领导小组办公室",
        short_name="市整改办",
        kind=UnitKind.OFFICE,
        region=city,
    )
    eco = Unit.objects.create(
        name="湖州市生态环境局吴兴分局",
        short_name="吴兴分局",
        kind=UnitKind.DEPARTMENT,
        region=wuxing,
    )
    housing = Unit.objects.create(
        name="南浔区住房和城乡建设局",
        short_name="南浔区住建局",
        kind=UnitKind.DEPARTMENT,
        region=nanxun,
    )
    wuxing_acceptance = Unit.objects.create(
        name="吴兴区整改验收组", kind=UnitKind.ACCEPTANCE, region=wuxing
    )
    city_acceptance = Unit.objects.create(
        name="湖州市整改验收组", kind=UnitKind.ACCEPTANCE, region=city
    )
    inspection = Inspection.objects.create(
        code="central-2-test",
        name="第二轮中央生态环境保护督察",
        kind="central",
        target_region=zhejiang,
        feedback_date=dt.date(2026, 6, 1),
        closing_checklist=["整改报告", "现场照片"],
    )
    world = World(
        city,
        wuxing,
        nanxun,
        office_unit,
        eco,
        housing,
        wuxing_acceptance,
        city_acceptance,
        inspection,
    )
    for username, unit_attr, role in ROLE_USERS:
        user = User.objects.create_user(username, password=PASSWORD, display_name=username)
        Membership.objects.create(user=user, unit=getattr(world, unit_attr), role=role)
        world.users[username] = user
    world.users["outsider"] = User.objects.create_user(
        "outsider", password=PASSWORD, display_name="outsider"
    )
    return world
