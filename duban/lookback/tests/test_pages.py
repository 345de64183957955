"""The pages: the office draws and reads its draws; the checker reads and records his checks."""

import json
from io import StringIO

from django.core.management import call_command
from django.urls import reverse

from duban.ledger.models import Problem, State
from duban.ledger.tests.flow import member, png
from duban.lookback.models import LookbackCheck, LookbackDraw, Outcome
from duban.org.models import Role, Unit

from .support import client_for, many_closed

NEW = reverse("lookback:draw_create")


def post_draw(client, world, **data):
    values = {"inspection": world.inspection.pk, "min_age_days": 0, "size": 3, "seed": "42"}
    values.update(data)
    return client.post(NEW, {k: v for k, v in values.items() if v is not None})


def test_it_records_a_draw_the_command_redoes_from_its_seed(world):
    many_closed(world, 10)
    office = client_for(world.office)
    response = post_draw(office, world)
    draw = LookbackDraw.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "lookback:draw_detail", args=[draw.pk]
    )
    assert draw.seed == "42" and draw.candidate_count == 10 and draw.region == world.city
    page = office.get(response["Location"]).content.decode()
    assert "42" in page and "lookback_draw" in page and "sha256-v1" in page

    out = StringIO()
    call_command(
        "lookback_draw",
        "--inspection", world.inspection.code,
        "--region", draw.region.code,
        "--as-of", draw.as_of.isoformat(),
        "--size", "3",
        "--seed", draw.seed,
        "--json",
        stdout=out,
    )  # fmt: skip
    redone = json.loads(out.getvalue())
    recorded = draw.checks.values_list("problem__ledger_number", flat=True)
    assert sorted(redone["drawn"]) == sorted(recorded)
    for number in recorded:
        assert number in page

    # The same inputs on the page draw the same problems again.
    post_draw(office, world)
    again = LookbackDraw.objects.latest("id")
    assert sorted(again.checks.values_list("problem_id", flat=True)) == sorted(
        draw.checks.values_list("problem_id", flat=True)
    )


def test_it_generates_and_shows_a_seed_when_none_is_given(world):
    many_closed(world, 4)
    office = client_for(world.office)
    post_draw(office, world, seed="")
    draw = LookbackDraw.objects.get()
    assert len(draw.seed) == 8 and draw.seed.isdigit()
    assert draw.seed in office.get(reverse("lookback:draw_detail", args=[draw.pk])).content.decode()


def test_it_refuses_a_minimum_age_beyond_any_date_with_a_clear_message(world):
    world.office.language = "en"
    world.office.save()
    many_closed(world, 3)
    response = post_draw(client_for(world.office), world, min_age_days=10**9)
    assert response.status_code == 400
    assert "less than or equal to 36500" in response.content.decode()
    assert LookbackDraw.objects.count() == 0


def test_it_quotes_the_seed_in_the_command_that_redoes_the_draw(world):
    import shlex

    from duban.lookback.views import command_line

    many_closed(world, 3)
    seed = "x'; rm -rf ~; echo '"
    response = post_draw(client_for(world.office), world, seed=seed, size=1)
    assert response.status_code == 302
    command = command_line(LookbackDraw.objects.get())
    words = shlex.split(command)
    assert words[words.index("--seed") + 1] == seed and "rm" not in words


def test_it_refuses_a_size_above_the_candidates_and_writes_nothing(world):
    world.office.language = "en"
    world.office.save()
    many_closed(world, 2)
    response = post_draw(client_for(world.office), world, size=5)
    assert response.status_code == 400
    assert "larger than the 2 candidates" in response.content.decode()
    assert LookbackDraw.objects.count() == 0


def test_it_refuses_a_share_above_one_and_a_zero_size(world):
    many_closed(world, 2)
    office = client_for(world.office)
    assert post_draw(office, world, size=None, share="1.5").status_code == 400
    assert post_draw(office, world, size=0).status_code == 400
    assert post_draw(office, world, size=None).status_code == 400
    assert LookbackDraw.objects.count() == 0


def test_it_lets_the_checker_record_a_rebound_on_the_page(world):
    many_closed(world, 1)
    post_draw(client_for(world.office), world, size=1)
    check = LookbackCheck.objects.get()
    checker = client_for(check.checker)
    url = reverse("lookback:check_detail", args=[check.pk])
    overview = checker.get(reverse("lookback:overview")).content.decode()
    assert url in overview
    response = checker.post(
        url, {"outcome": Outcome.REBOUND, "findings": "复查发现反弹。", "files": [png()]}
    )
    assert response.status_code == 302
    assert Problem.objects.get(pk=check.problem_id).state == State.IN_PROGRESS
    evidence = LookbackCheck.objects.get().evidence.get()
    download = checker.get(reverse("lookback:check_evidence", args=[check.pk, evidence.pk]))
    assert download.status_code == 200
    overview = client_for(world.office).get(reverse("lookback:overview"))
    assert overview.context["rebounds"] == {world.eco: 1}
    assert world.eco.name in overview.content.decode()


def test_it_keeps_the_input_when_the_check_form_is_wrong(world):
    many_closed(world, 1)
    post_draw(client_for(world.office), world, size=1)
    check = LookbackCheck.objects.get()
    response = client_for(check.checker).post(
        reverse("lookback:check_detail", args=[check.pk]),
        {"outcome": Outcome.KEPT, "findings": "巩固良好"},
    )
    assert response.status_code == 400 and "巩固良好" in response.content.decode()
    assert LookbackCheck.objects.get().outcome == Outcome.PENDING


def test_it_shows_draws_only_to_the_office_of_the_region(world):
    many_closed(world, 3)
    post_draw(client_for(world.office), world, size=1)
    draw = LookbackDraw.objects.get()
    check = draw.checks.get()
    nanxun_office = Unit.objects.create(name="南浔区整改办", region=world.nanxun)
    other_office = member("nanxun_office", nanxun_office, Role.OFFICE)
    draw_url = reverse("lookback:draw_detail", args=[draw.pk])
    check_url = reverse("lookback:check_detail", args=[check.pk])
    for user in (other_office, world.liaison, world.viewer, world.auditor, world.outsider):
        client = client_for(user)
        assert client.get(draw_url).status_code == 404, user
        assert client.get(check_url).status_code == 404, user
    assert client_for(world.liaison).get(NEW).status_code == 403
    assert client_for(world.outsider).get(NEW).status_code == 403
    # The other acceptor was not drawn for this check: he does not see it.
    other = world.city_acceptor if check.checker == world.county_acceptor else world.county_acceptor
    assert client_for(other).get(check_url).status_code == 404
    # The office reads the check but does not record it.
    office = client_for(world.office)
    assert office.get(check_url).status_code == 200
    refused = office.post(check_url, {"outcome": Outcome.KEPT, "findings": "x", "files": [png()]})
    assert refused.status_code == 403
    assert LookbackCheck.objects.get().outcome == Outcome.PENDING
    # The nanxun office's own overview lists nothing of the city's draws.
    assert client_for(other_office).get(reverse("lookback:overview")).context["draws"].count() == 0
