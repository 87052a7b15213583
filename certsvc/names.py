"""Names a person reads for the codes the service stores: roles, statuses, job kinds and
states — in the console and on the command line alike.

Each table maps a code to an English message id (``N_``); :func:`named` translates it into the
current language when shown. Machine output (``--json``, the APIs' fields) keeps the codes.
No Flask here: ``certsvc.web.console.i18n`` and ``certsvc.cli`` both import this module.
"""

from __future__ import annotations

from certsvc.i18n import N_, gettext

#: Each role's name (certsvc.accounts.permissions.ROLES).
ROLE_NAMES = {
    "admin": N_("Admin"),
    "issuer": N_("Issuer"),
    "viewer": N_("Viewer"),
    "operator": N_("Platform operator"),
    "registry_admin": N_("Registry token admin"),
    "registry": N_("Registry"),
}

#: Each status's name: of a certificate, a key, a body or a membership.
STATUS_NAMES = {
    "valid": N_("Valid"),
    "revoked": N_("Revoked"),
    "superseded": N_("Superseded"),
    "active": N_("Active"),
    "retired": N_("Retired"),
    "compromised": N_("Compromised"),
    "suspended": N_("Suspended"),
}

#: Background jobs (``jobs.kind``) and their states (``jobs.state``).
JOB_KIND_NAMES: dict[str, str] = {
    "batch_zip": N_("Certificate PDFs (ZIP)"),
    "batch_print": N_("Merged print PDF"),
    "import": N_("Import and issue"),
    "stats_export": N_("Statistics export"),
}
JOB_STATE_NAMES: dict[str, str] = {
    "queued": N_("Waiting in the queue"),
    "running": N_("Running"),
    "succeeded": N_("Finished"),
    "failed": N_("Failed"),
    "expired": N_("Result expired"),
}


def named(names: dict[str, str], code: str) -> str:
    """The translated name of *code*, or the code itself when it has none."""
    return gettext(names[code]) if code in names else code


def role_name(role: str) -> str:
    return named(ROLE_NAMES, role)


def status_name(status: str) -> str:
    return named(STATUS_NAMES, status)


def job_kind_name(kind: str) -> str:
    """What a job does, e.g. 合并打印 PDF for ``batch_print``."""
    return named(JOB_KIND_NAMES, kind)


def job_state_name(state: str) -> str:
    """Where a job is, e.g. 已完成 for ``succeeded``."""
    return named(JOB_STATE_NAMES, state)
