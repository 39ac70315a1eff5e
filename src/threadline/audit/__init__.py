"""The audit log: every change an agent or an app makes to a workspace, with who, when, from
where, and the values before and after; kept append-only, searched and exported by admins.

Inside:

- scope.py    who acts in this request (set where the caller is signed in)
- audited.py  the tables watched, their names in the log, what they may not show
- capture.py  the flush listener that writes entries in the change's own transaction
- facts.py    entries that are not a row changing: signing in and out
- reads.py    the admins' reads: filtered, newest first, by keyset; the CSV export
"""

from threadline.audit.capture import install
from threadline.audit.facts import record_change, record_fact, record_sign_in
from threadline.audit.reads import (
    AuditFilters,
    AuditPage,
    export_audit_csv,
    list_audit_entries,
    require_audit_reader,
    workspace_time_zone,
)
from threadline.audit.scope import (
    AuditScope,
    act_as,
    act_for_customer,
    acting,
    current_scope,
    request_scope,
)

__all__ = [
    "AuditFilters",
    "AuditPage",
    "AuditScope",
    "act_as",
    "act_for_customer",
    "acting",
    "current_scope",
    "export_audit_csv",
    "install",
    "list_audit_entries",
    "record_change",
    "record_fact",
    "record_sign_in",
    "request_scope",
    "require_audit_reader",
    "workspace_time_zone",
]
