import datetime as dt
import hashlib

from django.core.files.uploadedfile import SimpleUploadedFile

from .conftest import jpeg_bytes, pdf_bytes


def ok(response, status=200):
    assert response.status_code == status, response.content.decode()
    return response.json()


def test_it_takes_a_problem_from_registration_to_public_notice(world, api_as):
    office, liaison = api_as("office"), api_as("liaison")
    deadline = dt.date.today() + dt.timedelta(days=200)

    created = ok(
        office.post(
            "/problems",
            {
                "inspection": world.inspection.code,
                "feedback_text": "督察发现，吴兴区部分河道存在黑臭水体。",
                "title": "河道黑臭水体整治不到位",
                "ledger_number": "第7号",
                "category": "water",
                "is_key": True,
                "region": world.wuxing.code,
                "lead_unit": world.eco.pk,
                "lead_official": world.lead_official.pk,
                "co_units": [world.housing.pk],
                "deadline": deadline.isoformat(),
                "measures": [{"text": "排查入河排污口", "owner": "吴兴分局"}],
                "milestones": [
                    {
                        "due_date": (deadline - dt.timedelta(days=100)).isoformat(),
                        "percent": 50,
                        "description": "完成一半",
                    }
                ],
            },
        ),
        201,
    )
    pid = created["id"]
    assert created["state"] == "registered"
    assert [u["id"] for u in created["co_units"]] == [world.housing.pk]
    assert created["lead_unit"]["id"] == world.eco.pk
    assert [m["text"] for m in created["measures"]] == ["排查入河排污口"]
    assert [a["name"] for a in created["allowed_actions"]] == ["edit", "split", "assign"]

    edited = ok(office.patch(f"/problems/{pid}", {"title": "河道黑臭水体整治不彻底"}))
    assert edited["title"] == "河道黑臭水体整治不彻底"

    assert ok(office.act(pid, "assign"))["state"] == "assigned"
    assert ok(liaison.act(pid, "claim"))["state"] == "claimed"
    plan = ok(
        liaison.act(
            pid,
            "save_plan",
            {
                "target": "2026年底前消除黑臭水体",
                "measures": [
                    {"text": "排查入河排污口", "owner": "吴兴分局"},
                    {"text": "截污纳管", "owner": "住建局", "due_date": deadline.isoformat()},
                ],
                "milestones": [],
            },
        )
    )
    assert [m["text"] for m in plan["measures"]] == ["排查入河排污口", "截污纳管"]
    assert ok(liaison.act(pid, "submit_plan"))["state"] == "plan_submitted"
    assert ok(office.act(pid, "approve_plan", {"note": "同意"}))["state"] == "in_progress"

    first, second = plan["measures"]
    reported = ok(
        liaison.act(
            pid,
            "report_progress",
            {
                "period": "2026年6月",
                "text": "完成排污口排查",
                "percent": 60,
                "measure_updates": [{"measure": first["id"], "note": "已排查42个", "done": True}],
            },
        )
    )
    assert reported["progress_percent"] == 60
    assert reported["reports"][0]["measure_updates"] == [
        {"measure": first["id"], "note": "已排查42个", "done": True}
    ]
    assert [m["done"] for m in reported["measures"]] == [True, False]

    # Not every material yet: the application is refused, naming what is missing.
    refused = liaison.act(pid, "apply_for_closing", {"summary": "x", "self_check": "y"})
    assert refused.status_code == 400

    photo, report = jpeg_bytes(), pdf_bytes()
    ok(
        liaison.upload(
            f"/problems/{pid}/actions/upload_evidence",
            {
                "category": "现场照片",
                "files": [SimpleUploadedFile("河道.jpg", photo, "image/jpeg")],
            },
        )
    )
    uploaded = ok(
        liaison.upload(
            f"/problems/{pid}/actions/upload_evidence",
            {
                "category": "整改报告",
                "title": "整改报告",
                "files": [SimpleUploadedFile("报告.pdf", report, "application/pdf")],
            },
        )
    )
    files = {e["category"]: e for e in uploaded["evidence"]}
    assert files["现场照片"]["sha256"] == hashlib.sha256(photo).hexdigest()
    assert files["现场照片"]["content_type"] == "image/jpeg"
    assert files["整改报告"]["sha256"] == hashlib.sha256(report).hexdigest()
    assert files["整改报告"]["content_type"] == "application/pdf"
    assert (
        f"/ledger/evidence/{files['整改报告']['id']}/download/" in files["整改报告"]["download_url"]
    )
    assert uploaded["missing_materials"] == []
    download = liaison.http.get(files["整改报告"]["api_download_url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == report

    applied = ok(
        liaison.act(
            pid,
            "apply_for_closing",
            {"summary": "黑臭水体已消除", "self_check": "经自查，整改到位"},
        )
    )
    assert applied["state"] == "closing_applied"
    assert len(applied["closing_applications"][0]["evidence"]) == 2

    ok(api_as("unit_head").act(pid, "sign", {"statement": "情况属实"}))
    endorsed = ok(api_as("lead_official").act(pid, "endorse", {"statement": "同意销号"}))
    assert endorsed["state"] == "under_acceptance"
    assert endorsed["acceptance_level_name"] == "county"
    assert {s["role"] for s in endorsed["closing_applications"][0]["signatures"]} == {
        "unit_head",
        "lead_official",
    }

    # The city may not decide before the county has.
    assert api_as("city_acceptor").act(pid, "accept", {"site_check": "现场核查"}).status_code == 403
    ok(api_as("county_acceptor").act(pid, "accept", {"site_check": "现场核查属实"}))
    noticed = ok(api_as("city_acceptor").act(pid, "accept", {"site_check": "复核通过"}))
    assert noticed["state"] == "public_notice"
    assert [r["level_name"] for r in noticed["closing_applications"][0]["reviews"]] == [
        "county",
        "city",
    ]
    assert noticed["notice"]["status"] == "open"

    too_early = office.act(pid, "end_notice")
    assert too_early.status_code == 409
    assert noticed["notice"]["ends_on"] in too_early.json()["detail"]
    assert ok(office.get(f"/problems/{pid}"))["state"] == "public_notice"

    timeline = ok(liaison.get(f"/problems/{pid}/timeline"))
    actions = [e["action"] for e in timeline]
    assert actions[0] == "problem.create"
    assert "acceptance.start" in actions and actions[-1] == "notice.open"
    assert [e["seq"] for e in timeline] == sorted(e["seq"] for e in timeline)
    assert all(e["prev_hash"] and e["hash"] for e in timeline)


def test_it_rejects_a_file_that_is_not_what_its_name_says(world, api_as):
    problem = world.problem()
    office, liaison = api_as("office"), api_as("liaison")
    office.act(problem.pk, "assign")
    liaison.act(problem.pk, "claim")
    response = liaison.upload(
        f"/problems/{problem.pk}/actions/upload_evidence",
        {
            "category": "现场照片",
            "files": [SimpleUploadedFile("photo.jpg", b"MZ\x90\x00 not a photo")],
        },
    )
    assert response.status_code == 400
    assert response.json()["field"] == "files"


def test_it_registers_only_in_the_office_region_and_validates_references(world, api_as):
    base = {
        "inspection": world.inspection.code,
        "feedback_text": "反馈原文",
        "title": "问题",
        "region": world.wuxing.code,
        "deadline": "2027-01-01",
    }
    liaison = api_as("liaison")
    assert liaison.post("/problems", base).status_code == 403
    office = api_as("office")
    bad_region = office.post("/problems", base | {"region": "999999"})
    assert bad_region.status_code == 400 and bad_region.json()["field"] == "region"
    bad_unit = office.post("/problems", base | {"lead_unit": 999999})
    assert bad_unit.status_code == 400 and bad_unit.json()["field"] == "lead_unit"
    not_official = office.post("/problems", base | {"lead_official": world.liaison.pk})
    assert not_official.status_code == 400 and not_official.json()["field"] == "lead_official"
    unknown_inspection = office.post("/problems", base | {"inspection": "nope"})
    assert unknown_inspection.status_code == 400
    assert office.post("/problems", base).status_code == 201
