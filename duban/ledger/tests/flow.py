"""Steps that walk a problem through its life by the actions, as the right users would.

Shared by the domain tests of the ledger and the audit chain. Files are real
(a PDF, PNG and JPEG made here), so evidence goes through the same checks as in use.
"""

import datetime as dt
import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from duban.demo import files as demo_files
from duban.ledger import actions
from duban.ledger.models import State
from duban.org.models import Membership

# --- files ------------------------------------------------------------------------------


def pdf_bytes(text: str = "zhenggai baogao") -> bytes:
    """A real one-page PDF (the demo's maker); the text, escaped to ASCII, keeps files apart."""
    return demo_files.pdf_bytes([text.encode("unicode_escape").decode("ascii")])


def jpeg_bytes(text: str = "") -> bytes:
    return image_bytes("JPEG", size=(64, 48))


def image_bytes(
    fmt: str = "PNG", size=(640, 480), color="green", taken: str | None = None
) -> bytes:
    image = Image.new("RGB", size, color)
    out = io.BytesIO()
    if taken:
        exif = Image.Exif()
        exif.get_ifd(0x8769)[0x9003] = taken  # DateTimeOriginal, "YYYY:MM:DD HH:MM:SS"
        image.save(out, fmt, exif=exif)
    else:
        image.save(out, fmt)
    return out.getvalue()


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def pdf(name: str = "整改报告.pdf") -> SimpleUploadedFile:
    return upload(name, pdf_bytes(name))


def png(name: str = "现场照片.png", color="green") -> SimpleUploadedFile:
    return upload(name, image_bytes("PNG", color=color))


def jpeg(name: str = "现场照片.jpg", taken: str | None = None) -> SimpleUploadedFile:
    return upload(name, image_bytes("JPEG", taken=taken))


# --- people -----------------------------------------------------------------------------


def member(username: str, unit, role, **extra):
    """A new user holding one role in one unit."""
    from duban.accounts.models import User
    from duban.testing import PASSWORD

    user = User.objects.create_user(username, password=PASSWORD, display_name=username, **extra)
    Membership.objects.create(user=user, unit=unit, role=role)
    return user


class Cast:
    """Who acts on a problem: the world's users, with the unit people replaceable."""

    def __init__(self, world, liaison=None, unit_head=None):
        self.world = world
        self.office = world.office
        self.liaison = liaison or world.liaison
        self.unit_head = unit_head or world.unit_head
        self.lead_official = world.lead_official
        self.county_acceptor = world.county_acceptor
        self.city_acceptor = world.city_acceptor


# --- steps ------------------------------------------------------------------------------

ORDER = [
    State.REGISTERED,
    State.ASSIGNED,
    State.CLAIMED,
    State.PLAN_SUBMITTED,
    State.IN_PROGRESS,
    State.CLOSING_APPLIED,
    State.UNDER_ACCEPTANCE,
    State.PUBLIC_NOTICE,
    State.CLOSED,
]


def upload_checklist(problem, cast):
    """One file for every category of the inspection's closing checklist."""
    for category in problem.inspection.closing_checklist:
        file = png(f"{category}.png") if "照片" in category else pdf(f"{category}.pdf")
        actions.upload_evidence(problem, by=cast.liaison, files=[file], category=category)


def draft_plan(problem, cast):
    actions.save_plan(
        problem,
        by=cast.liaison,
        target="全部淘汰燃煤小锅炉",
        measures=[actions.MeasureInput("逐家拆除", "吴兴区生态环境分局", problem.deadline)],
        milestones=[],
    )


def apply(problem, cast, summary="已全部拆除。"):
    return actions.apply_for_closing(
        problem, by=cast.liaison, summary=summary, self_check="经自查，已完成整改。"
    )


def sign_all(problem, cast):
    actions.sign(problem, by=cast.unit_head, statement="情况属实，同意申请销号。")
    if problem.lead_official_id:
        actions.endorse(problem, by=cast.lead_official, statement="同意。")


def advance(problem, cast, to: str):
    """Move `problem` forward from its state to `to`, one action at a time."""
    while ORDER.index(problem.state) < ORDER.index(to):
        step = problem.state
        if step == State.REGISTERED:
            actions.assign(problem, by=cast.office)
        elif step == State.ASSIGNED:
            actions.claim(problem, by=cast.liaison)
            draft_plan(problem, cast)
        elif step == State.CLAIMED:
            actions.submit_plan(problem, by=cast.liaison)
        elif step == State.PLAN_SUBMITTED:
            actions.approve_plan(problem, by=cast.office)
        elif step == State.IN_PROGRESS:
            if actions.missing_materials(problem):
                upload_checklist(problem, cast)
            apply(problem, cast)
        elif step == State.CLOSING_APPLIED:
            sign_all(problem, cast)
        elif step == State.UNDER_ACCEPTANCE:
            acceptor = [cast.county_acceptor, cast.city_acceptor][problem.acceptance_level]
            actions.accept(problem, by=acceptor, site_check="现场核查，锅炉已拆除。")
        elif step == State.PUBLIC_NOTICE:
            notice = actions.open_notice(problem)
            actions.end_notice(problem, by=cast.office, today=notice.ends_on + dt.timedelta(days=1))
    assert problem.state == to
    return problem


def problem_in(world, state: str, cast=None, **fields):
    """A new problem of the world, walked to `state`."""
    cast = cast or Cast(world)
    return advance(world.problem(**fields), cast, state)


def claimed_with_file_and_extension(world):
    """A claimed problem with one photo and one extension request, as the liaison leaves it:
    (problem, evidence, extension)."""
    problem = world.problem()
    actions.assign(problem, by=world.office)
    actions.claim(problem, by=world.liaison)
    [evidence] = actions.upload_evidence(
        problem, by=world.liaison, category="现场照片", files=[upload("现场.jpg", jpeg_bytes())]
    )
    extension = actions.request_extension(
        problem,
        by=world.liaison,
        reasons="受汛期影响",
        efforts="已完成排查",
        new_deadline=problem.deadline + dt.timedelta(days=60),
        roadmap="2027年3月底前完成",
    )
    return problem, evidence, extension
