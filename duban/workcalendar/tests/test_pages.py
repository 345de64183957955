"""The calendar page: office staff read a year and set or remove days; nobody else gets in."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from duban.audit.models import AuditEvent
from duban.ledger.tests.flow import member
from duban.org.models import Role, Unit, UnitKind
from duban.workcalendar.models import CalendarDay
from duban.workcalendar.workdays import is_working_day

PAGE = reverse("workcalendar:year")
REMOVE = reverse("workcalendar:remove")
MONDAY = dt.date(2026, 11, 23)


def client_for(user) -> Client:
    user.language = "en"
    user.save(update_fields=["language"])
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def office(world):
    return client_for(world.office)


def set_day(client, day="2026-11-23", kind="holiday", name="防汛值守调休", year=2026):
    return client.post(f"{PAGE}?year={year}", {"date": day, "kind": kind, "name": name})


def calendar_events():
    return list(AuditEvent.objects.filter(action__startswith="calendar.").order_by("seq"))


def test_it_shows_the_office_a_year_of_holidays_and_adjusted_workdays(office):
    page = office.get(f"{PAGE}?year=2026").content.decode()
    assert "国庆节" in page and "国庆节调休上班" in page and "春节" in page
    assert 'id="day-2026-10-10"' in page and "Statutory" in page
    assert "?year=2025" in page and "?year=2027" in page


def test_it_opens_on_the_current_year_and_warns_when_only_weekends_are_known(office):
    response = office.get(PAGE)
    assert response.status_code == 200
    assert str(dt.date.today().year) in response.content.decode()
    page = office.get(f"{PAGE}?year=2040").content.decode()
    assert 'id="no-statutory"' in page
    assert office.get(f"{PAGE}?year=abc").status_code == 404


def test_it_refuses_everyone_but_the_office(world):
    for user in (world.liaison, world.unit_head, world.city_acceptor, world.auditor,
                 world.sysadmin, world.viewer, world.outsider):  # fmt: skip
        client = client_for(user)
        assert client.get(PAGE).status_code == 403, user
        assert set_day(client).status_code == 403, user
        assert client.post(REMOVE, {"date": "2026-10-01"}).status_code == 403, user
    assert CalendarDay.objects.count() == 0 and calendar_events() == []
    assert Client().get(PAGE).status_code == 302  # to the login page


def test_a_county_office_reads_the_calendar_but_only_the_top_office_changes_it(world):
    county_unit = Unit.objects.create(
        name="吴兴区整改办", kind=UnitKind.OFFICE, region=world.wuxing
    )
    county = client_for(member("wx_office", county_unit, Role.OFFICE))

    page = county.get(f"{PAGE}?year=2026")
    assert page.status_code == 200 and "国庆节" in page.content.decode()
    assert 'id="set-day"' not in page.content.decode()
    assert set_day(county).status_code == 403
    assert county.post(REMOVE, {"date": "2026-10-01"}).status_code == 403
    assert CalendarDay.objects.count() == 0 and calendar_events() == []

    city = client_for(world.office)
    assert 'id="set-day"' in city.get(f"{PAGE}?year=2026").content.decode()
    assert set_day(city).status_code == 302


def test_the_office_sets_a_holiday_and_deadlines_move_with_it(world, office):
    response = set_day(office)
    assert response.status_code == 302 and response["Location"] == f"{PAGE}?year=2026"
    day = CalendarDay.objects.get()
    assert (day.date, day.is_working_day, day.name, day.changed_by) == (
        MONDAY, False, "防汛值守调休", world.office
    )  # fmt: skip
    assert not is_working_day(MONDAY)

    [event] = calendar_events()
    assert event.action == "calendar.set" and event.actor_id == world.office.pk
    assert event.target_id == "2026-11-23" and event.role == "office"
    assert event.before == {"working": True, "name": "", "source": "weekend"}
    assert event.after == {"working": False, "name": "防汛值守调休", "source": "office"}

    page = office.get(response["Location"]).content.decode()
    assert "防汛值守调休" in page and "Set by the office" in page


def test_the_office_makes_a_statutory_holiday_a_working_day(office):
    assert set_day(office, day="2026-10-05", kind="working", name="补班").status_code == 302
    assert is_working_day(dt.date(2026, 10, 5))
    [event] = calendar_events()
    assert event.before == {"working": False, "name": "国庆节", "source": "statutory"}


def test_the_office_removes_its_setting_and_the_statutory_calendar_applies_again(world, office):
    set_day(office, day="2026-10-05", kind="working", name="补班")
    response = office.post(REMOVE, {"date": "2026-10-05", "year": "2026"})
    assert response.status_code == 302 and response["Location"] == f"{PAGE}?year=2026"
    assert CalendarDay.objects.count() == 0
    assert not is_working_day(dt.date(2026, 10, 5))
    assert [e.action for e in calendar_events()] == ["calendar.set", "calendar.remove"]
    removed = calendar_events()[-1]
    assert removed.before["source"] == "office"
    assert removed.after == {"working": False, "name": "国庆节", "source": "statutory"}


@pytest.mark.parametrize("typed", ["2026/11/23", "23.11.2026", "next monday", "2026-02-30", ""])
def test_it_refuses_a_date_it_cannot_read_and_writes_nothing(office, typed):
    response = set_day(office, day=typed)
    assert response.status_code == 400
    page = response.content.decode()
    assert "YYYY-MM-DD" in page or "Give the date" in page
    assert "防汛值守调休" in page  # the name typed is kept
    assert CalendarDay.objects.count() == 0 and calendar_events() == []


def test_it_refuses_a_day_already_set_the_same_way_and_writes_nothing(office):
    set_day(office)
    response = set_day(office)
    assert response.status_code == 400
    assert "already set 2026-11-23 this way" in response.content.decode()
    assert CalendarDay.objects.count() == 1 and len(calendar_events()) == 1

    response = set_day(office, day="2026-10-01", name="国庆节")
    assert response.status_code == 400
    assert "already so in the statutory calendar" in response.content.decode()
    assert CalendarDay.objects.count() == 1 and len(calendar_events()) == 1


def test_it_renames_a_day_the_office_set(office):
    set_day(office)
    assert set_day(office, name="防汛").status_code == 302
    assert CalendarDay.objects.get().name == "防汛" and len(calendar_events()) == 2


def test_it_refuses_to_remove_a_day_the_office_did_not_set(office):
    response = office.post(REMOVE, {"date": "2026-10-01", "year": "2026"})
    assert response.status_code == 400
    assert "nothing to remove" in response.content.decode()
    response = office.post(REMOVE, {"date": "1 Oct", "year": "2026"})
    assert response.status_code == 400 and "YYYY-MM-DD" in response.content.decode()
    assert calendar_events() == []


def test_it_refuses_a_day_without_a_name(office):
    response = set_day(office, name="  ")
    assert response.status_code == 400
    assert CalendarDay.objects.count() == 0 and calendar_events() == []


def test_the_office_finds_the_calendar_in_the_navigation(office, world):
    assert f'href="{PAGE}"' in office.get(reverse("ledger:problem_list")).content.decode()
    liaison = client_for(world.liaison)
    assert f'href="{PAGE}"' not in liaison.get(reverse("ledger:problem_list")).content.decode()


def test_it_answers_the_office_s_wrong_method_with_405(office, world):
    assert office.get(REMOVE).status_code == 405
    assert office.put(PAGE).status_code == 405
    assert client_for(world.liaison).get(REMOVE).status_code == 403
