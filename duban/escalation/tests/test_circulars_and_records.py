"""Circulars and accountability records: numbered in the office's year, counted whole for every
reader, never losing what was typed, and records that stay in their region."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from duban.escalation import actions
from duban.escalation.models import AccountabilityRecord, Circular, CircularEntry, CircularStatus
from duban.ledger.tests.flow import member
from duban.org.models import Role, Unit

from .support import late_problem
from .test_ladder import client_for, listed_and_drawn_up

pytestmark = pytest.mark.django_db


def test_it_numbers_a_circular_approved_early_on_new_years_day_in_the_offices_year(
    world, monkeypatch
):
    _notice, circular = listed_and_drawn_up(world, late_problem(world))
    # 1 January 2027, 07:00 in the office (Asia/Shanghai): still 31 December in UTC.
    new_years_morning = timezone.make_aware(dt.datetime(2027, 1, 1, 7)).astimezone(dt.UTC)
    assert new_years_morning.year == 2026
    monkeypatch.setattr(timezone, "now", lambda: new_years_morning)  # as Django's: in UTC

    actions.approve_circular(circular, by=world.office)

    circular.refresh_from_db()
    assert circular.number == "督查通报〔2027〕1号"


def test_a_named_units_liaison_sees_the_whole_circular_counted_in_the_list(world):
    problem = late_problem(world)
    _notice, circular = listed_and_drawn_up(world, problem)
    entry = CircularEntry.objects.get()
    other = late_problem(world, lead_unit=world.housing, region=world.nanxun, ledger_number="第9号")
    CircularEntry.objects.create(
        inspection=entry.inspection,
        circular=circular,
        region=entry.region,
        unit=world.housing,
        problem=other,
        deadline=other.deadline,
        reason=entry.reason,
        listed_at=entry.listed_at,
    )
    actions.approve_circular(circular, by=world.office)

    response = client_for(world.liaison).get(reverse("escalation:circular_list"))

    assert response.status_code == 200
    listed = list(response.context["circulars"])
    assert [(c.pk, c.unit_count, c.problem_count) for c in listed] == [(circular.pk, 2, 2)]


def test_it_refuses_an_overlong_discard_note_and_keeps_the_circular(world):
    _notice, circular = listed_and_drawn_up(world, late_problem(world))
    url = reverse("escalation:circular_discard", args=[circular.pk])

    response = client_for(world.office).post(url, {"note": "数据待核实" * 200})

    assert response.status_code == 400
    circular.refresh_from_db()
    assert circular.status == CircularStatus.DRAFT and circular.note == ""
    assert Circular.objects.get().entries.count() == 1


def test_it_keeps_a_record_in_its_region_when_an_inspector_above_edits_it(world):
    county_unit = Unit.objects.create(name="吴兴区纪委监委", region=world.wuxing)
    county = client_for(member("wuxing_discipline", county_unit, Role.DISCIPLINE))
    response = county.post(
        reverse("escalation:record_create"),
        {"measure": "reminder_talk", "person_name": "王某", "person_post": "股长"},
    )
    assert response.status_code == 302
    record = AccountabilityRecord.objects.get()
    assert record.region == world.wuxing

    edit = reverse("escalation:record_edit", args=[record.pk])
    response = client_for(world.discipline).post(
        edit, {"measure": "admonition", "person_name": "王某", "person_post": "股长"}
    )

    assert response.status_code == 302
    record.refresh_from_db()
    assert record.measure == "admonition" and record.region == world.wuxing
    assert county.get(edit).status_code == 200  # still in sight of those who made it
