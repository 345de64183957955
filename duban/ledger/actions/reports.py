"""Progress reports and evidence files."""

import contextlib

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from duban.audit import log as audit
from duban.core.exceptions import Conflict, InvalidInput, NotAllowed, WrongState
from duban.org.models import Role
from duban.org.scope import acting_membership

from ..files import FileRejected, StoredFile, check_upload, store_upload
from ..models import (
    Evidence,
    MeasureUpdate,
    Problem,
    ProgressReport,
    State,
)
from .base import (
    _bump,
    _check,
    _record,
    _void_signatures,
    content_hash,
    open_application,
    store_pace_bounds,
)
from .inputs import _check_length

# Photos sent with a progress report go to this evidence category unless another is chosen.
PROGRESS_PHOTO_CATEGORY = "现场照片"


# --- progress and evidence -------------------------------------------------------------


def report_progress(
    problem: Problem,
    *,
    by,
    period: str,
    text: str,
    percent: int,
    measure_updates=(),
    files=(),
    evidence_category: str = "",
) -> ProgressReport:
    """进展报告: period, text, percent, measure updates and evidence files."""
    membership = _check(problem, "report_progress", by)
    if not period.strip():
        raise InvalidInput(_("Name the period this report covers."), "period")
    if not text.strip():
        raise InvalidInput(_("Describe the progress."), "text")
    if not 0 <= percent <= 100:
        raise InvalidInput(_("Progress is a percentage from 0 to 100."), "percent")
    stored = _stored_all(files)
    with _files_removed_on_failure(stored), transaction.atomic():
        now = timezone.now()
        _bump(problem, progress_percent=percent, last_report_at=now)
        report = ProgressReport.objects.create(
            problem=problem,
            period=period,
            text=text,
            percent=percent,
            submitted_by=by,
            submitted_at=now,
        )
        measures = {m.pk: m for m in problem.measures.all()}
        for measure_id, note, done in measure_updates:
            measure = measures.get(measure_id)
            if measure is None:
                raise InvalidInput(_("A measure update names a measure of another problem."))
            MeasureUpdate.objects.create(report=report, measure=measure, note=note, done=done)
            measure.note, measure.done = note, done
            measure.save(update_fields=["note", "done"])
        store_pace_bounds(problem)
        _record(
            problem,
            by,
            membership,
            "progress.report",
            {},
            {
                "report": report.pk,
                "period": period,
                "percent": percent,
                "text": text,
                "measure_updates": [[m, n, d] for m, n, d in measure_updates],
            },
        )
        for item in stored:
            _store_evidence(
                problem,
                by,
                membership,
                item,
                evidence_category or PROGRESS_PHOTO_CATEGORY,
                report=report,
            )
    return report


# Files in one upload. Each is checked and hashed in chunks from Django's temporary file,
# so the number bounds the disk and time of one request, not its memory.
MAX_FILES_PER_UPLOAD = 20


def _stored_all(files) -> list[StoredFile]:
    """Every file checked, then thumbnailed and written to storage, before any transaction.

    All are checked before the first is stored; if one fails to store, those before it are
    removed. The caller removes them all if its transaction fails (_files_removed_on_failure).
    """
    if len(files) > MAX_FILES_PER_UPLOAD:
        raise InvalidInput(
            _("At most %(n)d files at a time; send the others in another upload.")
            % {"n": MAX_FILES_PER_UPLOAD},
            "files",
        )
    checked = [_checked(f) for f in files]
    stored: list[StoredFile] = []
    with _files_removed_on_failure(stored):
        for item in checked:
            try:
                stored.append(store_upload(item))
            except FileRejected as error:
                raise InvalidInput(str(error), "files") from None
    return stored


def _checked(uploaded):
    try:
        return check_upload(uploaded)
    except FileRejected as error:
        raise InvalidInput(str(error), "files") from None


def _store_evidence(
    problem, by, membership, stored: StoredFile, category, title="", report=None
) -> Evidence:
    """The row and audit event of a file already in storage (see _stored_all)."""
    checked = stored.checked
    evidence = Evidence(
        problem=problem,
        report=report,
        category=category,
        title=title,
        original_name=checked.original_name,
        content_type=checked.content_type,
        size=checked.size,
        sha256=checked.sha256,
        uploaded_by=by,
        taken_at=stored.taken_at,
        file=stored.name,
        thumbnail=stored.thumbnail,
    )
    if stored.position:
        evidence.latitude, evidence.longitude = (round(v, 6) for v in stored.position)
    evidence.save()
    _record(
        problem,
        by,
        membership,
        "evidence.upload",
        {},
        {
            "evidence": evidence.pk,
            "category": category,
            "name": checked.original_name,
            "sha256": checked.sha256,
            "size": checked.size,
        },
        target=evidence,
    )
    return evidence


@contextlib.contextmanager
def _files_removed_on_failure(stored: list[StoredFile]):
    """Files are written before the transaction; if anything fails, remove them again."""
    try:
        yield stored
    except BaseException:
        for item in stored:
            item.remove()
        raise


def record_changed_file(evidence: Evidence, *, by, part: str, found: str) -> None:
    """A stored file (or its thumbnail) no longer matches its sha256: kept in the audit log.

    Any reader who opens the file triggers the check, so no role is required; the download
    itself is refused by the caller.
    """
    with transaction.atomic():
        audit.record(
            actor=by,
            role="",
            action="evidence.file_changed",
            target=evidence,
            before={"sha256": evidence.sha256 if part == "file" else evidence.thumbnail.name},
            after={"part": part, "found_sha256": found, "name": evidence.original_name},
            problem_id=evidence.problem_id,
        )


def upload_evidence(
    problem: Problem, *, by, files, category: str, title: str = ""
) -> list[Evidence]:
    membership = _check(problem, "upload_evidence", by)
    if not category.strip():
        raise InvalidInput(_("Choose the category of the material."), "category")
    _check_length(category, 50, "category")
    _check_length(title, 200, "title")
    if not files:
        raise InvalidInput(_("Choose at least one file."), "files")
    stored = _stored_all(files)
    with _files_removed_on_failure(stored), transaction.atomic():
        _bump(problem)
        rows = [_store_evidence(problem, by, membership, item, category, title) for item in stored]
        application = open_application(problem) if problem.state == State.CLOSING_APPLIED else None
        if application is not None:
            # A file added to a submitted application changes what was signed.
            application.evidence.add(*rows)
            voided = _void_signatures(application, "evidence added after signing")
            _record(
                problem,
                by,
                membership,
                "closing.evidence_added",
                {},
                {
                    "application": application.pk,
                    "content_hash": content_hash(application),
                    "voided_signatures": voided,
                },
                target=application,
            )
    return rows


def review_evidence(evidence: Evidence, *, by) -> Evidence:
    """The unit head marks a file as checked (审核)."""
    problem = evidence.problem
    membership = acting_membership(by, problem, (Role.UNIT_HEAD,))
    if membership is None:
        raise NotAllowed(_("Only the head of the lead unit reviews its evidence."))
    if evidence.uploaded_by_id == by.pk:
        # Separation of duties: a file is checked by someone other than whoever supplied it.
        raise NotAllowed(_("You uploaded this file; another person must review it."))
    if evidence.reviewed_at:
        raise WrongState(_("This file was already reviewed."))
    with transaction.atomic():
        updated = Evidence.objects.filter(pk=evidence.pk, reviewed_at__isnull=True).update(
            reviewed_by=by, reviewed_at=timezone.now()
        )
        if not updated:
            raise Conflict(_("This file was reviewed a moment ago."))
        _record(
            problem,
            by,
            membership,
            "evidence.review",
            {},
            {"evidence": evidence.pk},
            target=evidence,
        )
    evidence.refresh_from_db()
    return evidence


# Another app's action that keeps files with a problem (a look-back check, duban.lookback) uses
# the same content checks and storage: store_files before its transaction (checked, hashed,
# thumbnailed and written, slow work outside any lock), then store_evidence for each inside
# `with files_removed_on_failure(stored), transaction.atomic():`.
def store_files(files) -> list[StoredFile]:
    return _stored_all(files)


def store_evidence(problem, by, membership, stored: StoredFile, category, title="") -> Evidence:
    return _store_evidence(problem, by, membership, stored, category, title)


def files_removed_on_failure(stored: list[StoredFile]):
    return _files_removed_on_failure(stored)
