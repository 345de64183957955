"""Office staff set up an inspection round and its rules; everyone else reads it within scope."""

import datetime as dt

import pytest
from django.test import Client

from duban.audit.models import AuditEvent
from duban.core.exceptions import InvalidInput, NotAllowed
from duban.inspections import actions
from duban.inspections.models import Inspection
from duban.ledger.tests.flow import member, problem_in
from duban.org.models import Region, Role, Unit, UnitKind

# 2026-06-01 is a Monday: 30 working days counted from Tuesday 2 June end on Monday 13 July,
# 45 on Monday 3 August.
FEEDBACK = dt.date(2026, 6, 1)


def _form(world, **overrides) -> dict:
    """What an office user types to set up 浙江省's provincial round."""
    data = {
        "code": "zj-provincial-3",
        "name": "第三轮省级生态环境保护督察",
        "kind": "provincial",
        "round_label": "第三轮第二批",
        "target_region": Region.objects.get(code="330000").pk,
        "stay_start": "2026-04-10",
        "stay_end": "2026-05-10",
        "feedback_date": FEEDBACK.isoformat(),
        "plan_due_date": "",
        "plan_working_days": "30",
        "report_cadence": "monthly",
        "level_1": "county",
        "level_2": "city",
        "level_3": "province",
        "notice_working_days": "7",
        "complaint_deadline_days": "15",
        "closing_checklist": "整改报告\n现场照片\n监测报告\n",
    }
    data.update(overrides)
    return data


def _client(user, language="en") -> Client:
    user.language = language
    user.save(update_fields=["language"])
    client = Client()
    client.force_login(user)
    return client


def _fields(world, **overrides) -> dict:
    fields = {
        "code": "zj-provincial-3",
        "name": "第三轮省级生态环境保护督察",
        "kind": "provincial",
        "round_label": "",
        "target_region": world.city.parent,
        "stay_start": None,
        "stay_end": None,
        "feedback_date": FEEDBACK,
        "plan_due_date": None,
        "report_cadence": "monthly",
        "acceptance_levels": ["county", "city"],
        "notice_working_days": 5,
        "complaint_deadline_days": 10,
        "closing_checklist": ["整改报告"],
    }
    fields.update(overrides)
    return fields


@pytest.fixture
def huzhou_office(world):
    return _client(world.office)


def _office_at(world, code, name, username):
    """An office user at the region `code` (created under 浙江省 unless it is 浙江省 itself)."""
    zhejiang = world.city.parent
    region = (
        zhejiang
        if code == zhejiang.code
        else Region.objects.create(code=code, name=name, level="city", parent=zhejiang)
    )
    unit = Unit.objects.create(name=f"{name}整改办", kind=UnitKind.OFFICE, region=region)
    return member(username, unit, Role.OFFICE)


@pytest.fixture
def provincial_office_user(world):
    return _office_at(world, "330000", "浙江省", "zhejiang_office")


@pytest.fixture
def provincial_office(provincial_office_user):
    return _client(provincial_office_user)


def _edit_form(world, inspection, **overrides) -> dict:
    """The edit form as the office finds it, with `overrides` typed in."""
    data = _form(
        world,
        code=inspection.code,
        name=inspection.name,
        kind=inspection.kind,
        round_label="",
        stay_start="",
        stay_end="",
        feedback_date=inspection.feedback_date.isoformat(),
        plan_due_date=inspection.plan_due_date.isoformat() if inspection.plan_due_date else "",
        target_region=inspection.target_region.pk,
        level_3="",
        notice_working_days=str(inspection.notice_working_days),
        complaint_deadline_days=str(inspection.complaint_deadline_days),
        closing_checklist="\n".join(inspection.closing_checklist),
    )
    data.update(overrides)
    return data


# --- setting up a round ----------------------------------------------------------------------


def test_it_lets_a_city_office_set_up_the_provincial_round_it_rectifies(world, huzhou_office):
    response = huzhou_office.post("/inspections/new/", _form(world))

    inspection = Inspection.objects.get(code="zj-provincial-3")
    assert response.status_code == 302
    assert response["Location"] == f"/inspections/{inspection.pk}/"
    assert inspection.target_region.name == "浙江省"
    assert inspection.kind == "provincial"
    assert inspection.round_label == "第三轮第二批"
    assert inspection.stay_start == dt.date(2026, 4, 10)
    assert inspection.acceptance_levels == ["county", "city", "province"]
    assert inspection.closing_checklist == ["整改报告", "现场照片", "监测报告"]
    assert inspection.notice_working_days == 7
    assert inspection.complaint_deadline_days == 15


def test_it_computes_the_plan_due_date_from_the_feedback_date(world, huzhou_office):
    huzhou_office.post("/inspections/new/", _form(world))
    huzhou_office.post("/inspections/new/", _form(world, code="zj-45", plan_working_days="45"))

    # Counted from 2 June 2026 in working days: the Dragon Boat Festival (19 June) is off.
    assert Inspection.objects.get(code="zj-provincial-3").plan_due_date == dt.date(2026, 7, 14)
    assert Inspection.objects.get(code="zj-45").plan_due_date == dt.date(2026, 8, 4)


def test_it_keeps_a_plan_due_date_the_office_gives(world, huzhou_office):
    huzhou_office.post("/inspections/new/", _form(world, plan_due_date="2026-07-20"))

    assert Inspection.objects.get(code="zj-provincial-3").plan_due_date == dt.date(2026, 7, 20)


def test_it_records_the_new_round_in_the_audit_log(world, huzhou_office):
    huzhou_office.post("/inspections/new/", _form(world))

    inspection = Inspection.objects.get(code="zj-provincial-3")
    event = AuditEvent.objects.get(action="inspection.create")
    assert event.actor_id == world.office.pk
    assert event.role == Role.OFFICE
    assert event.target_id == str(inspection.pk)
    assert event.before == {}
    assert event.after["target_region"] == "330000"
    assert event.after["plan_due_date"] == "2026-07-14"
    assert event.after["acceptance_levels"] == ["county", "city", "province"]


def test_it_shows_the_new_round_with_its_settings(world, huzhou_office):
    huzhou_office.post("/inspections/new/", _form(world))
    inspection = Inspection.objects.get(code="zj-provincial-3")

    page = huzhou_office.get(f"/inspections/{inspection.pk}/").content.decode()

    assert "第三轮省级生态环境保护督察" in page
    assert "浙江省" in page
    assert "County initial check → City acceptance → Provincial acceptance" in page
    assert "整改报告、现场照片、监测报告" in page
    assert "2026-07-14" in page
    assert "/ledger/?inspection=zj-provincial-3" in page


def test_it_shows_the_form_in_chinese_by_default(world):
    client = _client(world.office, language="zh-hans")

    page = client.get("/inspections/new/").content.decode()
    refused = client.post("/inspections/new/", _form(world, level_2="county")).content.decode()

    assert "设立督察" in page
    assert "第一级验收" in page
    assert "反馈后45个工作日" in page
    assert "每个验收层级只能选择一次。" in refused


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"code": "central-2-test"}, "Another inspection already uses the code “central-2-test”."),
        ({"stay_end": "2026-04-01"}, "The stay cannot end before it begins."),
        ({"closing_checklist": "  \n"}, "Name at least one evidence category"),
        (
            {"closing_checklist": "整改报告\n现场照片\n整改报告"},
            "“整改报告” appears twice in the closing checklist.",
        ),
        ({"level_2": "county"}, "Each acceptance level may be chosen only once."),
        (
            {"level_1": "city", "level_2": "county", "level_3": ""},
            "List the acceptance levels lowest first",
        ),
        ({"level_2": "", "level_3": "province"}, "Fill the acceptance levels from the first"),
        ({"notice_working_days": "31"}, "The public notice lasts from 1 to 30 working days."),
        ({"closing_checklist": "整" * 51}, "is longer than 50 characters"),
    ],
)
def test_it_refuses_bad_input_with_a_clear_message_and_writes_nothing(
    world, huzhou_office, overrides, message
):
    before = (Inspection.objects.count(), AuditEvent.objects.count())

    response = huzhou_office.post("/inspections/new/", _form(world, **overrides))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert (Inspection.objects.count(), AuditEvent.objects.count()) == before
    # The office's input is kept.
    assert "第三轮省级生态环境保护督察" in response.content.decode()


def test_it_refuses_an_empty_checklist_in_the_action_too(world):
    with pytest.raises(InvalidInput) as refused:
        actions.create_inspection(by=world.office, fields=_fields(world, closing_checklist=[]))

    assert refused.value.field == "closing_checklist"
    assert not Inspection.objects.filter(code="zj-provincial-3").exists()


def test_it_refuses_a_round_that_ends_before_it_begins_in_the_action(world):
    with pytest.raises(InvalidInput) as refused:
        actions.create_inspection(
            by=world.office,
            fields=_fields(world, stay_start=dt.date(2026, 5, 1), stay_end=dt.date(2026, 4, 1)),
        )

    assert refused.value.field == "stay_end"


# --- changing a round ------------------------------------------------------------------------


def test_it_saves_changed_settings_and_audits_only_what_changed(world, provincial_office):
    inspection = world.inspection
    data = _edit_form(world, inspection, closing_checklist="整改报告\n现场照片\n会议纪要")

    response = provincial_office.post(f"/inspections/{inspection.pk}/edit/", data)

    assert response.status_code == 302
    inspection.refresh_from_db()
    assert inspection.closing_checklist == ["整改报告", "现场照片", "会议纪要"]
    event = AuditEvent.objects.filter(action="inspection.edit").get()
    assert event.before["closing_checklist"] == ["整改报告", "现场照片"]
    assert event.after["closing_checklist"] == ["整改报告", "现场照片", "会议纪要"]
    assert "name" not in event.after


def test_it_refuses_new_acceptance_levels_while_a_problem_is_under_acceptance(
    world, provincial_office
):
    problem_in(world, "under_acceptance")
    inspection = world.inspection
    events = AuditEvent.objects.count()
    data = _form(
        world,
        code=inspection.code,
        name=inspection.name,
        kind=inspection.kind,
        feedback_date=inspection.feedback_date.isoformat(),
        level_3="province",
    )

    response = provincial_office.post(f"/inspections/{inspection.pk}/edit/", data)

    assert response.status_code == 400
    assert "Problems of this inspection are under acceptance" in response.content.decode()
    inspection.refresh_from_db()
    assert inspection.acceptance_levels == ["county", "city"]
    assert AuditEvent.objects.count() == events


def test_it_still_lets_other_settings_change_while_a_problem_is_under_acceptance(
    world, provincial_office_user
):
    problem_in(world, "under_acceptance")
    inspection = world.inspection
    fields = {name: getattr(inspection, name) for name in actions.INSPECTION_FIELDS}

    actions.update_inspection(
        inspection, by=provincial_office_user, fields=fields | {"notice_working_days": 10}
    )

    inspection.refresh_from_db()
    assert inspection.notice_working_days == 10


# --- who may ---------------------------------------------------------------------------------


def test_it_keeps_the_forms_from_a_liaison(world):
    client = _client(world.liaison)

    assert client.get("/inspections/new/").status_code == 403
    assert client.post("/inspections/new/", _form(world)).status_code == 403
    assert client.get(f"/inspections/{world.inspection.pk}/edit/").status_code == 403
    assert client.post(f"/inspections/{world.inspection.pk}/edit/", _form(world)).status_code == 403
    assert not Inspection.objects.filter(code="zj-provincial-3").exists()


def test_it_lets_a_liaison_read_the_round_of_his_region(world):
    client = _client(world.liaison)

    assert client.get(f"/inspections/{world.inspection.pk}/").status_code == 200
    assert world.inspection.name in client.get("/inspections/").content.decode()


def test_it_answers_404_to_an_outsider(world):
    client = _client(world.outsider)
    inspection = world.inspection

    assert client.get(f"/inspections/{inspection.pk}/").status_code == 404
    assert client.post(f"/inspections/{inspection.pk}/").status_code == 404
    assert client.get(f"/inspections/{inspection.pk}/edit/").status_code == 404
    assert client.post(f"/inspections/{inspection.pk}/edit/", _form(world)).status_code == 404
    assert client.get("/inspections/new/").status_code == 403
    assert inspection.name not in client.get("/inspections/").content.decode()


def test_it_hides_another_citys_round_from_this_office(world, huzhou_office):
    jiaxing = Region.objects.create(
        code="330400", name="嘉兴市", level="city", parent=world.city.parent
    )
    jiaxing_round = Inspection.objects.create(
        code="jx-self-2026", name="嘉兴市生态环境保护自查", kind="self", target_region=jiaxing
    )

    assert huzhou_office.get(f"/inspections/{jiaxing_round.pk}/").status_code == 404
    assert huzhou_office.get(f"/inspections/{jiaxing_round.pk}/edit/").status_code == 404
    response = huzhou_office.post(
        f"/inspections/{jiaxing_round.pk}/edit/",
        _form(world, code="jx-self-2026", target_region=jiaxing.pk),
    )
    assert response.status_code == 404
    assert "嘉兴市生态环境保护自查" not in huzhou_office.get("/inspections/").content.decode()
    jiaxing_round.refresh_from_db()
    assert jiaxing_round.name == "嘉兴市生态环境保护自查"


def test_it_refuses_a_round_for_another_city_in_the_action(world):
    jiaxing = Region.objects.create(
        code="330400", name="嘉兴市", level="city", parent=world.city.parent
    )

    with pytest.raises(NotAllowed):
        actions.create_inspection(by=world.office, fields=_fields(world, target_region=jiaxing))

    assert not Inspection.objects.filter(code="zj-provincial-3").exists()


def test_it_offers_only_regions_the_office_may_target(world):
    jiaxing = Region.objects.create(
        code="330400", name="嘉兴市", level="city", parent=world.city.parent
    )
    client = _client(world.office)

    response = client.post("/inspections/new/", _form(world, target_region=jiaxing.pk))

    assert response.status_code == 400
    assert not Inspection.objects.filter(code="zj-provincial-3").exists()


def test_it_lets_a_county_office_set_up_a_county_round_but_not_change_the_city_rounds_rules(world):
    county_office_unit = Unit.objects.create(
        name="吴兴区整改办", kind=UnitKind.OFFICE, region=world.wuxing
    )
    county_office = member("wuxing_office", county_office_unit, Role.OFFICE)
    city_round = Inspection.objects.create(
        code="hz-self-2026", name="湖州市生态环境保护自查", kind="self", target_region=world.city
    )
    nanxun_round = Inspection.objects.create(
        code="nx-self-2026", name="南浔区自查", kind="self", target_region=world.nanxun
    )

    created = actions.create_inspection(
        by=county_office, fields=_fields(world, code="wx-self-2026", target_region=world.wuxing)
    )
    client = _client(county_office)

    assert created.target_region == world.wuxing
    assert client.get(f"/inspections/{created.pk}/edit/").status_code == 200
    # Its city's round, above it: readable, not changeable.
    assert client.get(f"/inspections/{city_round.pk}/").status_code == 200
    assert client.get(f"/inspections/{city_round.pk}/edit/").status_code == 403
    assert client.get(f"/inspections/{nanxun_round.pk}/edit/").status_code == 404


# A round's rules bind every region under its target: only an office at the target or above changes
# them. The offices under it (杭州, 湖州 under 浙江省) read the provincial round but cannot edit it.


@pytest.mark.parametrize("city", [("330100", "杭州市"), ("330500", "湖州市")])
def test_it_keeps_a_city_office_from_changing_the_provincial_round(world, city):
    code, name = city
    user = world.office if code == "330500" else _office_at(world, code, name, "hangzhou_office")
    client = _client(user)
    inspection = world.inspection
    events = AuditEvent.objects.count()

    detail = client.get(f"/inspections/{inspection.pk}/")
    page = client.get(f"/inspections/{inspection.pk}/edit/")
    posted = client.post(
        f"/inspections/{inspection.pk}/edit/", _edit_form(world, inspection, name="改过的名称")
    )

    assert detail.status_code == 200
    assert f"/inspections/{inspection.pk}/edit/" not in detail.content.decode()
    assert page.status_code == 403
    assert posted.status_code == 403
    assert (
        "Only rectification office staff of 浙江省 or of a region containing it may change "
        "this inspection." in posted.content.decode()
    )
    inspection.refresh_from_db()
    assert inspection.name == "第二轮中央生态环境保护督察"
    assert AuditEvent.objects.count() == events
    with pytest.raises(NotAllowed):
        actions.update_inspection(
            inspection,
            by=user,
            fields={name: getattr(inspection, name) for name in actions.INSPECTION_FIELDS}
            | {"notice_working_days": 9},
        )


def test_it_lets_the_provincial_office_change_the_provincial_round(world, provincial_office):
    inspection = world.inspection

    detail = provincial_office.get(f"/inspections/{inspection.pk}/").content.decode()
    response = provincial_office.post(
        f"/inspections/{inspection.pk}/edit/", _edit_form(world, inspection, name="改过的名称")
    )

    assert f"/inspections/{inspection.pk}/edit/" in detail
    assert response.status_code == 302
    inspection.refresh_from_db()
    assert inspection.name == "改过的名称"


def test_it_lets_a_city_office_record_the_provincial_round_but_not_change_it_afterwards(
    world, huzhou_office
):
    huzhou_office.post("/inspections/new/", _form(world))
    inspection = Inspection.objects.get(code="zj-provincial-3")

    response = huzhou_office.post(
        f"/inspections/{inspection.pk}/edit/", _edit_form(world, inspection, name="改过的名称")
    )

    assert response.status_code == 403
    inspection.refresh_from_db()
    assert inspection.name == "第三轮省级生态环境保护督察"


def test_it_keeps_an_office_from_moving_its_own_round_to_the_region_above(world, huzhou_office):
    city_round = actions.create_inspection(
        by=world.office, fields=_fields(world, code="hz-self-2026", target_region=world.city)
    )

    response = huzhou_office.post(
        f"/inspections/{city_round.pk}/edit/",
        _edit_form(world, city_round, target_region=world.city.parent.pk),
    )
    with pytest.raises(NotAllowed):
        actions.update_inspection(
            city_round,
            by=world.office,
            fields={name: getattr(city_round, name) for name in actions.INSPECTION_FIELDS}
            | {"target_region": world.city.parent},
        )

    assert response.status_code == 400
    city_round.refresh_from_db()
    assert city_round.target_region == world.city


# --- the list --------------------------------------------------------------------------------


def test_it_lists_rounds_with_the_problems_the_user_sees_by_state(
    world, huzhou_office, django_assert_max_num_queries
):
    world.problem(title="第一个问题")
    problem_in(world, "in_progress", title="第二个问题", ledger_number="第2号")

    # Session, user, roles, the unread count in the navigation, then the list itself.
    with django_assert_max_num_queries(9):
        page = huzhou_office.get("/inspections/").content.decode()

    assert world.inspection.name in page
    assert "2 problems" in page
    assert "Registered 1" in page
    assert "In progress 1" in page
    assert f"/ledger/?inspection={world.inspection.code}" in page


def test_it_counts_for_others_only_the_problems_they_see(world):
    world.problem(lead_unit=world.housing, title="南浔的问题")
    problem_in(world, "in_progress", title="吴兴的问题")

    page = _client(world.liaison).get("/inspections/").content.decode()

    assert "1 problem" in page
    assert "2 problems" not in page


@pytest.mark.parametrize("username", ["auditor", "sysadmin", "outsider"])
def test_it_shows_an_empty_list_to_those_without_business_scope(world, username):
    page = _client(world.users[username]).get("/inspections/").content.decode()

    assert world.inspection.name not in page
    assert "No inspection concerns your region." in page


def test_it_links_the_list_from_the_menu_for_business_roles_only(world):
    assert 'href="/inspections/"' in _client(world.viewer).get("/ledger/").content.decode()
    assert 'href="/inspections/"' not in _client(world.auditor).get("/").content.decode()
