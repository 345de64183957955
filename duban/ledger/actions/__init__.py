"""Every change to the ledger, one named function each, in modules by the life of a problem.

The recipe (STYLE.md): check the state and the actor's role and scope → one
transaction → a conditional UPDATE on the problem's version, so that of two
concurrent actions exactly one wins → save → an audit event in the same
transaction. Views, the API, imports and commands all call these; none of them
sets a state with save().

- base: the check every action makes (check, allowed_actions), the version bump, the
  audit record, and the questions several stages ask (the open application, notice);
- inputs: a problem's fields, measures and milestones, checked;
- registration: create, register many (an imported list), update, split;
- plan: assign, claim, the plan and its decision;
- reports: progress reports and evidence files;
- extensions: requests and decisions;
- closing: the closing application, signing and endorsing;
- acceptance: accept and return, level by level;
- notice: public notice, objections, the close after the notice;
- rebound: reopening after a look-back check.

Callers import this package (`from duban.ledger import actions`); the names below are
its public surface.
"""

from duban.core.exceptions import (
    ActionError,
    Conflict,
    InvalidInput,
    NotAllowed,
    WrongState,
)

from .acceptance import (
    accept,
    return_application,
)
from .base import (
    acting_memberships,
    allowed_actions,
    check,
    content_hash,
    open_application,
    open_notice,
    pending_objections,
)
from .closing import (
    apply_for_closing,
    edit_application,
    endorse,
    missing_materials,
    sign,
    withdraw_application,
)
from .extensions import (
    decide_extension,
    request_extension,
)
from .inputs import (
    EARLIEST_DATE,
    LATEST_DATE,
    PROBLEM_FIELDS,
    MeasureInput,
    MilestoneInput,
)
from .notice import (
    close_after_notice,
    close_after_notices,
    decide_objection,
    end_notice,
    record_objection,
)
from .plan import (
    approve_plan,
    assign,
    claim,
    reject_plan,
    save_plan,
    submit_plan,
)
from .rebound import (
    reopen_after_rebound,
)
from .registration import (
    InvalidItems,
    ProblemInput,
    create_problem,
    register_problems,
    split_problem,
    undo_registration,
    update_problem,
)
from .reports import (
    MAX_FILES_PER_UPLOAD,
    PROGRESS_PHOTO_CATEGORY,
    files_removed_on_failure,
    record_changed_file,
    report_progress,
    review_evidence,
    store_evidence,
    store_files,
    upload_evidence,
)

__all__ = [
    "ActionError",
    "check",
    "NotAllowed",
    "WrongState",
    "Conflict",
    "InvalidInput",
    "allowed_actions",
    "create_problem",
    "register_problems",
    "undo_registration",
    "ProblemInput",
    "InvalidItems",
    "update_problem",
    "split_problem",
    "assign",
    "claim",
    "save_plan",
    "submit_plan",
    "approve_plan",
    "reject_plan",
    "report_progress",
    "upload_evidence",
    "review_evidence",
    "request_extension",
    "decide_extension",
    "apply_for_closing",
    "edit_application",
    "withdraw_application",
    "sign",
    "endorse",
    "accept",
    "return_application",
    "record_objection",
    "decide_objection",
    "pending_objections",
    "end_notice",
    "close_after_notice",
    "close_after_notices",
    "PROGRESS_PHOTO_CATEGORY",
    "MAX_FILES_PER_UPLOAD",
    "PROBLEM_FIELDS",
    "MeasureInput",
    "MilestoneInput",
    "open_application",
    "open_notice",
    "content_hash",
    "missing_materials",
    "store_files",
    "store_evidence",
    "files_removed_on_failure",
    "reopen_after_rebound",
    "acting_memberships",
    "record_changed_file",
    "EARLIEST_DATE",
    "LATEST_DATE",
]
