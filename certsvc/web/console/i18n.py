"""Names the console shows for codes: roles, statuses, levels, ID types, routes.

Two kinds, two ways. A code of ours (a role, a status) has an English message id in an
``N_`` table and is translated with the gettext catalogue. A value of the domain that carries
its own Chinese and English (a level as printed, an ID type, a route, a body's name) is shown
in the current language with :func:`certsvc.i18n.bilingual`: the domain stays the one place
those names are written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from certsvc.domain.ids import IdType
from certsvc.domain.levels import CERTIFIED_LEVELS, Level
from certsvc.domain.routes import DirectGround, Route
from certsvc.i18n import N_, bilingual, gettext
from certsvc.issuance.columns import COLUMNS_BY_KEY

# The names the command line shows too live in certsvc.names (no Flask); the console reads
# them here, as before.
from certsvc.names import JOB_KIND_NAMES as JOB_KIND_NAMES
from certsvc.names import JOB_STATE_NAMES as JOB_STATE_NAMES
from certsvc.names import ROLE_NAMES as ROLE_NAMES
from certsvc.names import STATUS_NAMES as STATUS_NAMES
from certsvc.names import job_kind_name as job_kind_name
from certsvc.names import job_state_name as job_state_name
from certsvc.names import named
from certsvc.names import role_name as role_name
from certsvc.names import status_name as status_name


def level_name(code: str) -> str:
    """A level as printed, e.g. 四级/中级工 or Level 4 / Intermediate Worker."""
    level = Level.from_code(code)
    return bilingual(level.printed_zh, level.printed_en)


def level_choices() -> list[tuple[str, str]]:
    return [(lv.code, bilingual(lv.printed_zh, lv.printed_en)) for lv in CERTIFIED_LEVELS]


def id_type_choices() -> list[tuple[str, str]]:
    return [(t.value, bilingual(t.label_zh, t.label_en)) for t in IdType]


def route_choices() -> list[tuple[str, str]]:
    return [(r.value, bilingual(r.label_zh, r.label_en)) for r in Route]


def ground_choices() -> list[tuple[str, str]]:
    return [("", "—")] + [(d.value, bilingual(d.label_zh, d.label_en)) for d in DirectGround]


def route_name(code: str) -> str:
    """A certification route, e.g. 直接认定 / Direct certification for ``direct``."""
    route = Route(code)
    return bilingual(route.label_zh, route.label_en)


#: Certificate history events (``events.kind``), as the registry also receives them.
EVENT_NAMES: dict[str, str] = {
    "issued": N_("Issued"),
    "revoked": N_("Revoked"),
    "superseded": N_("Superseded by a correction"),
    "key_created": N_("Signing key created"),
    "key_rotated": N_("Signing key rotated"),
    "key_compromised": N_("Signing key marked compromised"),
    "body_created": N_("Body registered"),
    "body_changed": N_("Body changed"),
}

#: Audit log actions (``audit_log.action``), console, API and command line alike.
ACTION_NAMES: dict[str, str] = {
    "login": N_("Log-in"),
    "logout": N_("Log-out"),
    "account.create": N_("Account created"),
    "account.activate": N_("Account activated"),
    "account.disable": N_("Account disabled"),
    "account.enable": N_("Account enabled"),
    "account.unlock": N_("Account unlocked"),
    "account.password": N_("Own password changed"),
    "account.password_reset": N_("Password reset"),
    "audit.export": N_("Audit log exported"),
    "batch.issue": N_("Batch issued"),
    "batch.export": N_("Certificate list exported"),
    "batch.pdf": N_("Batch PDFs made"),
    "body.create": N_("Body registered"),
    "body.activate": N_("Body reactivated"),
    "body.suspend": N_("Body suspended"),
    "body.seal": N_("Body seal replaced"),
    "body.photos": N_("Photo requirement changed"),
    "certificate.view": N_("Certificate viewed"),
    "certificate.pdf": N_("Certificate PDF downloaded"),
    "certificate.revoke": N_("Certificate revoked"),
    "certificate.correct": N_("Certificate corrected"),
    "denied": N_("Request refused: no permission"),
    "import.preview": N_("Results file checked"),
    "job.batch_zip": N_("Certificate PDFs (ZIP) started"),
    "job.batch_print": N_("Merged print PDF started"),
    "job.stats_export": N_("Statistics export started"),
    "job.download": N_("Job result downloaded"),
    "key.rotate": N_("Signing key rotated"),
    "key.compromise": N_("Signing key marked compromised"),
    "log.rotate_key": N_("Issuance log key rotated"),
    "member.add": N_("Member enterprise added"),
    "member.end": N_("Membership ended"),
    "occupations.import": N_("Occupation catalogue imported"),
    "salts.seal": N_("ID commitment salts sealed"),
    "scope.add": N_("Scope added"),
    "scope.remove": N_("Scope removed"),
    "token.create": N_("API token created"),
    "token.revoke": N_("API token revoked"),
    "token.refused": N_("Unknown API token refused"),
}

#: How an audited action ended (``audit_log.outcome``).
OUTCOME_NAMES: dict[str, str] = {
    "ok": N_("Done"),
    "failed": N_("Failed"),
    "rejected": N_("Rejected"),
    "replayed": N_("Repeat, nothing new"),
    "unchanged": N_("Nothing changed"),
    "queued": N_("Queued"),
    "refused": N_("Refused"),
    "denied": N_("No permission"),
    "rate_limited": N_("Too many attempts"),
    "locked": N_("Account locked"),
    "disabled": N_("The account is disabled"),
    "pending": N_("Account waiting for activation"),
}

#: Where a batch came from (``batches.source``).
BATCH_SOURCE_NAMES: dict[str, str] = {
    "csv": N_("CSV file upload"),
    "xlsx": N_("Excel file upload"),
    "api": N_("Issuing API"),
    "console": N_("Correction in the console"),
}

#: The keys of an audit entry's detail, as labels.
DETAIL_LABELS: dict[str, str] = {
    "rows": N_("Rows"),
    "certificates": N_("Certificates"),
    "errors": N_("Problems"),
    "error": N_("Error code"),
    "key": N_("Idempotency key"),
    "job": N_("Job"),
    "kind": N_("Job kind"),
    "reason": N_("Reason"),
    "new": N_("New certificate"),
    "batch": N_("Batch"),
    "file": N_("File"),
    "from": N_("From"),
    "to": N_("To"),
    "added": N_("Added"),
    "removed": N_("Removed"),
    "updated": N_("Updated"),
    "after": N_("Distrusted after"),
    "body_id": N_("Body id"),
    "role": N_("Role"),
    "token_id": N_("Token id"),
    "pending": N_("Waiting for activation"),
    "client": N_("Client"),
    "holders": N_("Holders"),
    "needs": N_("Needs"),
    "method": N_("Method"),
    "path": N_("Path"),
    "count": N_("Count"),
    "window_s": N_("Window (s)"),
    "clients": N_("Clients"),
    "entries": N_("Entries"),
}

#: Why a log-in failed (``detail.reason`` of a failed ``login``).
LOGIN_FAILURE_NAMES: dict[str, str] = {
    "unknown": N_("No such user"),
    "password": N_("Wrong password"),
}


def event_name(kind: str) -> str:
    """A certificate history event, e.g. 撤销 / Revoked for ``revoked``."""
    return named(EVENT_NAMES, kind)


def action_name(action: str) -> str:
    """An audit log action, e.g. 下载证书 PDF for ``certificate.pdf``."""
    return named(ACTION_NAMES, action)


def outcome_name(outcome: str) -> str:
    """How an audited action ended, e.g. 成功 for ``ok``."""
    return named(OUTCOME_NAMES, outcome)


def batch_source_name(source: str) -> str:
    """Where a batch came from, e.g. 上传 Excel 文件 for ``xlsx``."""
    return named(BATCH_SOURCE_NAMES, source)


def detail_items(action: str, detail: Mapping[str, Any] | None) -> list[tuple[str, str, bool]]:
    """An audit entry's detail as (label, value, value is a code) in a stable order: labels
    instead of JSON keys, names instead of the codes this module knows (a job kind, a role, a
    log-in failure); other codes (error codes, permissions, keys) stay codes, marked so."""
    items: list[tuple[str, str, bool]] = []
    for key, value in sorted((detail or {}).items()):
        label = named(DETAIL_LABELS, key)
        if key == "kind" and isinstance(value, str):
            items.append((label, job_kind_name(value), False))
        elif key == "role" and isinstance(value, str):
            items.append((label, role_name(value), False))
        elif key == "reason" and action == "login" and isinstance(value, str):
            items.append((label, named(LOGIN_FAILURE_NAMES, value), False))
        elif isinstance(value, bool):
            items.append((label, gettext("yes") if value else gettext("no"), False))
        elif isinstance(value, list | tuple):
            items.append((label, "、".join(str(v) for v in value), True))
        elif key in ("reason", "file", "from", "to", "after") or isinstance(value, int):
            items.append((label, str(value), False))
        else:
            items.append((label, str(value), True))
    return items


def column_label(key: str) -> str:
    """A results-file column by its label (证件号码 / ID number), not its key (id_number)."""
    column = COLUMNS_BY_KEY.get(key)
    return bilingual(column.label_zh, column.label_en) if column else key


#: The statistics export formats, as a person names them.
EXPORT_FORMAT_NAMES: dict[str, str] = {
    "json": N_("JSON"),
    "csv": N_("CSV"),
    "xlsx": N_("Excel"),
}


def export_format_name(fmt: str) -> str:
    """A statistics export format, e.g. Excel 表格 for ``xlsx``."""
    return named(EXPORT_FORMAT_NAMES, fmt)
