import pytest

from duban.workcalendar import workdays


@pytest.fixture(autouse=True)
def _fresh_calendar():
    """Each test starts from the database it sees: the tables of a previous test (whose
    overrides were rolled back) must not answer for it, nor this test's for the next."""
    workdays.invalidate()
    yield
    workdays.invalidate()
