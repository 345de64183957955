"""Two people press the same button at the same moment: exactly one wins, cleanly.

These need PostgreSQL: SQLite serialises whole transactions, and only real row
locks show that the conditional UPDATE on the problem's version does its job.
"""

import threading

import pytest
from django.db import connection

from duban.audit import log
from duban.ledger import actions
from duban.ledger.models import AcceptanceReview, Problem, State
from duban.org.models import Role

from .flow import member, problem_in

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def race(*attempts):
    """Run the attempts in threads released together; return what each returned or raised."""
    barrier = threading.Barrier(len(attempts))
    results = [None] * len(attempts)

    def run(index, attempt):
        try:
            barrier.wait(timeout=10)
            results[index] = attempt()
        except Exception as error:  # the loser's error is its result
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    return results


def split(results):
    errors = [r for r in results if isinstance(r, Exception)]
    wins = [r for r in results if not isinstance(r, Exception)]
    return wins, errors


def test_it_lets_exactly_one_of_two_city_acceptors_accept(world):
    second_acceptor = member("city_acceptor_2", world.city_acceptance, Role.ACCEPTOR)
    problem = problem_in(world, State.UNDER_ACCEPTANCE)
    actions.accept(problem, by=world.county_acceptor, site_check="初验合格")
    # Each acceptor has the page open: his own copy of the problem.
    copies = [Problem.objects.get(pk=problem.pk) for _ in range(2)]

    results = race(
        lambda: actions.accept(copies[0], by=world.city_acceptor, site_check="验收合格"),
        lambda: actions.accept(copies[1], by=second_acceptor, site_check="验收合格"),
    )

    wins, errors = split(results)
    assert len(wins) == 1 and len(errors) == 1, results
    assert isinstance(errors[0], actions.Conflict), errors
    assert str(errors[0])  # a message for the person who lost
    assert AcceptanceReview.objects.filter(application__problem=problem, level=1).count() == 1
    problem.refresh_from_db()
    assert problem.state == State.PUBLIC_NOTICE
    assert problem.notices.count() == 1
    verdict = log.verify()
    assert verdict.ok, verdict.reason


def test_it_lets_exactly_one_of_two_liaisons_claim(world):
    second_liaison = member("liaison_2", world.eco, Role.LIAISON)
    problem = problem_in(world, State.ASSIGNED)
    version = problem.version
    copies = [Problem.objects.get(pk=problem.pk) for _ in range(2)]

    results = race(
        lambda: actions.claim(copies[0], by=world.liaison),
        lambda: actions.claim(copies[1], by=second_liaison),
    )

    wins, errors = split(results)
    assert len(wins) == 1 and len(errors) == 1, results
    assert isinstance(errors[0], actions.Conflict), errors
    problem.refresh_from_db()
    assert problem.state == State.CLAIMED
    assert problem.version == version + 1
    assert log.verify().ok


def test_it_keeps_the_chain_whole_when_many_actions_race(world):
    """Different problems do not conflict, but their audit events share one chain."""
    problems = [problem_in(world, State.ASSIGNED, ledger_number=f"第{n}号") for n in range(6)]
    copies = [Problem.objects.get(pk=p.pk) for p in problems]

    results = race(*[lambda p=p: actions.claim(p, by=world.liaison) for p in copies])

    assert not [r for r in results if isinstance(r, Exception)], results
    assert set(Problem.objects.values_list("state", flat=True)) == {State.CLAIMED}
    verdict = log.verify()
    assert verdict.ok, verdict.reason
