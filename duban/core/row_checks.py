"""Migrations that add a CheckConstraint look at the rows first.

The database would refuse the constraint on a table holding a row that breaks it, with a
message naming neither the row nor the rule. `check_rows_before(...)` is a RunPython step
placed before the AddConstraint steps of a migration: it lists the rows of each rule that
break it (their ids, up to a screenful, and how many in all) and stops the upgrade, so an
office sees what to correct before it migrates again. On a clean table it costs one query
per rule.
"""

from django.db import migrations
from django.db.models import Q

SHOWN = 20  # ids listed per rule; the count says how many more


class ConstraintViolations(Exception):
    """Existing rows break a rule the migration is about to put in the database."""


def offending_rows(model, condition: Q, limit: int = SHOWN) -> tuple[int, list]:
    """(how many rows of `model` break `condition`, the first `limit` of their ids)."""
    # A row breaks a CHECK only when the condition is false, not when it is NULL (unknown):
    # ~Q(...) selects exactly those rows in SQL's three-valued logic for the conditions used.
    breaking = model._base_manager.filter(~condition).order_by("pk")
    return breaking.count(), list(breaking.values_list("pk", flat=True)[:limit])


def check_rows_before(app_label: str, rules: list[tuple[str, str, Q, str]]):
    """A RunPython step: fail, listing the rows, if any row breaks one of `rules`.

    Each rule is (model name, constraint name, condition, what it means in words).
    """

    def check(apps, schema_editor):
        problems = []
        for model_name, name, condition, meaning in rules:
            model = apps.get_model(app_label, model_name)
            count, ids = offending_rows(model, condition)
            if count:
                more = f" and {count - len(ids)} more" if count > len(ids) else ""
                problems.append(
                    f"- {model._meta.db_table} ({name}: {meaning}): {count} row(s), "
                    f"id {', '.join(map(str, ids))}{more}"
                )
        if problems:
            raise ConstraintViolations(
                "Existing rows break rules this upgrade puts in the database. Correct them "
                "(or ask for help with the ids below), then run `duban migrate` again; "
                "nothing was changed.\n" + "\n".join(problems)
            )

    return migrations.RunPython(check, migrations.RunPython.noop, elidable=False)


def checked(app_label: str, added: list, meanings: dict[str, str]) -> list:
    """The AddConstraint operations `added`, preceded by the check of the rows they would refuse.

    `meanings` says each constraint's rule in words (by constraint name), for the message.
    """
    rules = [
        (op.model_name, op.constraint.name, op.constraint.condition, meanings[op.constraint.name])
        for op in added
        if isinstance(op, migrations.AddConstraint)
    ]
    return [check_rows_before(app_label, rules), *added]
