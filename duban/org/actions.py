"""Changes to the organisation made by the application (the admin site keeps its own log).

Units an import creates: a list may name a department the ledger does not know yet, and the
office that imports it may choose "create it as a new unit" (duban.documents.importing).
"""

from django.db import transaction

from duban.audit import log as audit

from .models import Unit, UnitKind


def create_units(names, *, region, by, role: str, source: str = "import") -> dict:
    """Create a department in `region` for each name, with its "unit.create" event; returns
    name → Unit. One transaction (the caller's, when there is one)."""
    names = list(dict.fromkeys(names))
    if not names:
        return {}
    with transaction.atomic():
        units = {
            name: Unit.objects.create(name=name, kind=UnitKind.DEPARTMENT, region=region)
            for name in names
        }
        audit.record_many(
            {
                "actor": by,
                "role": role,
                "action": "unit.create",
                "target": unit,
                "after": {"name": unit.name, "region": region.code, "source": source},
            }
            for unit in units.values()
        )
    return units
