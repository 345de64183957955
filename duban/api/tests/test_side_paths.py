"""The API's other action routes: returning, withdrawing, editing, objecting, splitting."""

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile

from .conftest import jpeg_bytes, pdf_bytes
from .test_lifecycle import ok


def to_in_progress(world, api_as):
    problem = world.problem()
    office, liaison = api_as("office"), api_as("liaison")
    ok(office.act(problem.pk, "assign"))
    ok(liaison.act(problem.pk, "claim"))
    plan = {"target": "按期完成", "measures": [{"text": "全面排查燃煤锅炉"}]}
    ok(liaison.act(problem.pk, "save_plan", plan))
    ok(liaison.act(problem.pk, "submit_plan"))
    refused = office.act(problem.pk, "reject_plan", {"reasons": ""})
    assert refused.status_code == 400 and refused.json()["field"] == "reasons"
    assert (
        ok(office.act(problem.pk, "reject_plan", {"reasons": "措施不具体"}))["state"] == "claimed"
    )
    ok(liaison.act(problem.pk, "submit_plan"))
    ok(office.act(problem.pk, "approve_plan"))
    return problem.pk


def with_materials(api_as, pid):
    for category, name, content in [
        ("现场照片", "现场.jpg", jpeg_bytes()),
        ("整改报告", "报告.pdf", pdf_bytes()),
    ]:
        ok(
            api_as("liaison").upload(
                f"/problems/{pid}/actions/upload_evidence",
                {"category": category, "files": [SimpleUploadedFile(name, content)]},
            )
        )


def apply(api_as, pid):
    body = {"summary": "已完成", "self_check": "自查属实"}
    return ok(api_as("liaison").act(pid, "apply_for_closing", body))


def test_it_withdraws_edits_returns_and_objects(world, api_as):
    office, liaison = api_as("office"), api_as("liaison")
    pid = to_in_progress(world, api_as)
    with_materials(api_as, pid)

    apply(api_as, pid)
    assert ok(liaison.act(pid, "withdraw_application"))["state"] == "in_progress"

    apply(api_as, pid)
    ok(api_as("unit_head").act(pid, "sign", {"statement": "属实"}))
    edited = ok(
        liaison.act(pid, "edit_application", {"summary": "已全部完成", "self_check": "自查属实"})
    )
    signature = edited["closing_applications"][0]["signatures"][0]
    assert signature["voided_at"] is not None  # signed content changed: the signature is void
    ok(api_as("unit_head").act(pid, "sign", {"statement": "属实"}))
    ok(api_as("lead_official").act(pid, "endorse", {"statement": "同意"}))
    returned = ok(
        api_as("county_acceptor").act(
            pid, "return", {"site_check": "现场仍有锅炉", "reasons": "未整改到位"}
        )
    )
    assert returned["state"] == "in_progress"

    apply(api_as, pid)
    ok(api_as("unit_head").act(pid, "sign", {"statement": "属实"}))
    ok(api_as("lead_official").act(pid, "endorse", {"statement": "同意"}))
    ok(api_as("county_acceptor").act(pid, "accept", {"site_check": "属实"}))
    ok(api_as("city_acceptor").act(pid, "accept", {"site_check": "属实"}))
    objected = ok(office.act(pid, "record_objection", {"text": "群众反映仍有锅炉在用"}))
    assert objected["state"] == "in_progress"
    assert objected["notice"]["status"] == "objected"
    assert objected["notice"]["objections"][0]["text"] == "群众反映仍有锅炉在用"


def test_it_splits_a_problem_into_assigned_children(world, api_as):
    problem = world.problem(region=world.city, lead_unit=world.office_unit)
    office = api_as("office")
    children = [{"lead_unit": world.eco.pk}, {"lead_unit": world.housing.pk, "title": "南浔部分"}]
    parent = ok(office.act(problem.pk, "split", {"children": children}))
    assert len(parent["children"]) == 2
    for child in parent["children"]:
        assert ok(office.get(f"/problems/{child['id']}"))["state"] == "assigned"
    # The liaison of 吴兴 sees its child, not the parent's other child.
    liaison_ids = {p["id"] for p in api_as("liaison").get("/problems").json()["results"]}
    assert len(liaison_ids & {c["id"] for c in parent["children"]}) == 1


def test_it_decides_an_extension_through_the_problem_and_reviews_evidence(world, api_as):
    office, liaison = api_as("office"), api_as("liaison")
    pid = to_in_progress(world, api_as)
    deadline = dt.date.fromisoformat(office.get(f"/problems/{pid}").json()["deadline"])
    requested = ok(
        liaison.act(
            pid,
            "request_extension",
            {
                "reasons": "汛期无法施工",
                "efforts": "已完成设计",
                "roadmap": "汛后施工",
                "new_deadline": (deadline + dt.timedelta(days=60)).isoformat(),
            },
        )
    )
    extension = requested["extensions"][0]
    refused = office.act(pid, "decide_extension", {"extension": extension["id"], "approve": False})
    assert refused.status_code == 400 and refused.json()["field"] == "note"
    decided = ok(
        office.act(
            pid,
            "decide_extension",
            {"extension": extension["id"], "approve": False, "note": "理由不足"},
        )
    )
    assert decided["extensions"][0]["status"] == "rejected"
    assert decided["deadline"] == deadline.isoformat()

    with_materials(api_as, pid)
    evidence = office.get(f"/problems/{pid}").json()["evidence"][0]
    assert liaison.post(f"/evidence/{evidence['id']}/review", problem=pid).status_code == 403
    reviewed = ok(api_as("unit_head").post(f"/evidence/{evidence['id']}/review", problem=pid))
    assert next(e for e in reviewed["evidence"] if e["id"] == evidence["id"])["reviewed_at"]
    assert (
        api_as("other_liaison").post(f"/evidence/{evidence['id']}/review", problem=pid).status_code
        == 404
    )
    assert api_as("other_liaison").get(f"/evidence/{evidence['id']}/file").status_code == 404
