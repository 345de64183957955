"""Free texts have a length an office would use (duban.core.limits), the same in every door:
the pages' forms, the API and an imported list refuse a longer one with a message naming the
field and the limit, and nothing is written."""

import pytest
from django.test import Client
from django.urls import reverse

from duban.api.tests.conftest import ApiClient
from duban.core.limits import LONG_TEXT
from duban.documents.importing import import_file, samples
from duban.ledger import actions
from duban.ledger.models import Problem, ProgressReport, State
from duban.ledger.tests.flow import problem_in

MILLION = "扬" * 1_000_000
JUST_OVER = "扬" * (LONG_TEXT + 1)


def client_for(user) -> Client:
    user.language = "en"
    user.save(update_fields=["language"])
    client = Client()
    client.force_login(user)
    return client


def problem_form(world, feedback_text: str) -> dict:
    return {
        "inspection": world.inspection.pk,
        "source": "feedback",
        "title": "河道垃圾清理不到位",
        "feedback_text": feedback_text,
        "category": "water",
        "nature": "individual",
        "region": world.wuxing.pk,
        "deadline_kinds": ["ongoing"],
    }


def test_the_problem_form_refuses_a_million_character_feedback_text(world):
    response = client_for(world.office).post(
        reverse("ledger:problem_create"), problem_form(world, MILLION)
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "feedback text (verbatim): at most 20,000 characters; this text has 1,000,000." in page
    assert not Problem.objects.exists()


def test_the_problem_form_takes_a_feedback_text_of_exactly_the_limit(world):
    response = client_for(world.office).post(
        reverse("ledger:problem_create"), problem_form(world, "扬" * LONG_TEXT)
    )

    assert response.status_code == 302
    assert len(Problem.objects.get().feedback_text) == LONG_TEXT


def test_an_action_form_refuses_an_over_long_progress_report(world):
    problem = problem_in(world, State.IN_PROGRESS)
    response = client_for(world.liaison).post(
        reverse("ledger:problem_action", args=[problem.pk, "report_progress"]),
        {"period": "第1周", "text": JUST_OVER, "percent": 10, "evidence_category": "现场照片"},
    )

    assert response.status_code == 400
    assert "Progress: at most 20,000 characters; this text has 20,001." in response.content.decode()
    assert not ProgressReport.objects.exists()


def test_the_api_refuses_a_million_character_feedback_text_naming_the_field(world):
    response = ApiClient(world.office).post(
        "/problems",
        {
            "inspection": world.inspection.code,
            "feedback_text": MILLION,
            "title": "河道垃圾清理不到位",
            "region": world.wuxing.code,
            "deadline_by_date": False,
            "deadline_ongoing": True,
        },
    )

    assert response.status_code in (400, 422)
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["field"] == "feedback_text" and body["detail"].startswith("feedback_text: ")
    (error,) = body["errors"]
    assert error["loc"][-1] == "feedback_text"
    assert error["ctx"] == {"max_length": LONG_TEXT}
    assert not Problem.objects.exists()


def test_the_api_refuses_an_over_long_text_in_an_action_body(world):
    problem = problem_in(world, State.IN_PROGRESS)
    response = ApiClient(world.liaison).act(
        problem.pk, "report_progress", {"period": "第1周", "text": JUST_OVER, "percent": 10}
    )

    assert response.status_code in (400, 422)
    assert response.json()["field"] == "text"
    assert [e["loc"][-1] for e in response.json()["errors"]] == ["text"]
    assert not ProgressReport.objects.exists()


def test_an_imported_list_locates_an_over_long_cell_and_registers_nothing(world):
    content = samples.simple_workbook(
        [
            [1, "城区餐饮油烟扰民。", "吴兴分局", "排查", "2027年6月30日前"],
            [2, "河" * (LONG_TEXT + 5), "吴兴分局", "清淤", "2027年底前完成"],
        ]
    )

    result = import_file(content, "清单.xlsx", inspection=world.inspection, by=world.office)

    assert result.created == 0 and not Problem.objects.exists()
    [error] = [e for e in result.errors if e.row == 3]
    assert error.column == "反馈问题"
    assert "20,000" in error.message and "20,005" in error.message


def test_the_action_refuses_an_over_long_feedback_text_from_any_door(world):
    """The floor under the feedback-report review, the commands and anything to come."""
    with pytest.raises(actions.InvalidInput) as refused:
        world.problem(feedback_text=JUST_OVER)
    assert refused.value.field == "feedback_text"
    assert not Problem.objects.exists()
