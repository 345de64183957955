"""Audit events wait on their connection and join the chain in one short step at commit.

Why: the chain is one sequence, and appending to it locks its head row (AuditHead). Locking
it at an action's first event, as Duban once did, held every other writer until that
transaction committed, however slow the rest of its work. Here audit.record() only adds the
event to its connection's buffer; the connection's commit() first appends the buffer (lock
the head, number and hash the events, insert them, move the head) and then commits, so the
head is held for that step alone. The chain stays gap-free and in commit order: numbers are
given under the lock, by the transaction that is about to commit, and a transaction that
rolls back never took one.

The buffer follows the transaction exactly as its rows do:
- rollback(), and a connection closed in a transaction, discard it;
- rolling back to a savepoint drops the events recorded since that savepoint was made
  (an atomic block's or one made by hand with transaction.savepoint());
- an error while appending rolls the whole transaction back and is raised: nothing is
  half-done.

A transaction does not see its own events in AuditEvent until it commits (reads such as the
separation-of-duties checks look at earlier, committed actions); `connection.audit_pending`
holds them meanwhile.

Django's TestCase wraps each test in atomic blocks that never commit. Leaving the outermost
block that is not the test's own (the rule Django applies to durable blocks) appends the
buffer there instead, so tests see the chain exactly as production writes it.
"""

from django.db import Error


def _from_testcase(block) -> bool:
    return getattr(block, "_from_testcase", False)


class PendingAuditEvents:
    """A mixin for Django's DatabaseWrapper: the per-connection buffer of audit events."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Unsaved AuditEvents in the order recorded, and how many there were when each open
        # savepoint was made.
        self.audit_pending: list = []
        self.audit_marks: dict = {}

    # --- used by duban.audit.log ----------------------------------------------------------

    def in_change_transaction(self) -> bool:
        """Inside an atomic block of the program (a test's own wrapping blocks do not count)."""
        return self.in_atomic_block and any(not _from_testcase(b) for b in self.atomic_blocks)

    def add_audit_events(self, events) -> None:
        self.audit_pending.extend(events)

    def _append_pending(self) -> None:
        from duban.audit import log  # the models load after the backend

        events, self.audit_pending = self.audit_pending, []
        log.append_to_chain(events)

    # --- Django's transaction hooks -------------------------------------------------------

    def commit(self):
        if self.audit_pending:
            try:
                self._append_pending()
            except BaseException:
                self.audit_pending = []
                try:
                    self.rollback()
                except Error:
                    self.close()
                raise
        super().commit()
        self.audit_marks = {}

    def rollback(self):
        self.audit_pending, self.audit_marks = [], {}
        super().rollback()

    def close(self):
        self.audit_pending, self.audit_marks = [], {}
        super().close()

    def connect(self):
        super().connect()
        self.audit_pending, self.audit_marks = [], {}

    def savepoint(self):
        sid = super().savepoint()
        if sid is not None:
            self.audit_marks[sid] = len(self.audit_pending)
        return sid

    def savepoint_rollback(self, sid):
        super().savepoint_rollback(sid)
        # The savepoint stays (it can be rolled back to again) until it is released.
        del self.audit_pending[self.audit_marks.get(sid, len(self.audit_pending)) :]

    def savepoint_commit(self, sid):
        # Atomic.__exit__ pops its block before releasing the savepoint: if only the test's
        # blocks remain, the program's transaction ends here (a commit, were it not a test).
        if (
            self.audit_pending
            and self.atomic_blocks
            and all(map(_from_testcase, self.atomic_blocks))
        ):
            try:
                self._append_pending()
            except BaseException:
                # Back to the block's savepoint, as Atomic does for an error inside it.
                self.needs_rollback = False
                self.savepoint_rollback(sid)
                raise
        super().savepoint_commit(sid)
        self.audit_marks.pop(sid, None)
