"""Roles and what each may do: one table for the console, the issuing API and API tokens.

Roles (DESIGN.md — accounts): per certification body ``admin`` (members, scope, accounts, keys,
API tokens, the audit log), ``issuer`` (import, issue, revoke, correct) and ``viewer`` (read);
platform-wide ``operator`` (registers bodies, creates each body's first admin),
``registry_admin`` (mints and revokes the national registry's API tokens) and ``registry``
(reads the registry feed, through API tokens only). What a role may do is one table,
:data:`ROLE_PERMISSIONS`, used by the console, the issuing API and API tokens alike.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "BODY_ROLES",
    "PLATFORM_ROLES",
    "ROLES",
    "ROLE_PERMISSIONS",
    "Permission",
    "permissions_of",
    "roles_with",
]


class Permission(StrEnum):
    """One thing a role may do."""

    READ = "read"  # a body's dashboard, certificates, batches, members, scope, keys
    ISSUE = "issue"  # import and issue batches, correct (reissue) certificates
    REVOKE = "revoke"
    MANAGE_MEMBERS = "manage_members"
    MANAGE_SCOPE = "manage_scope"
    MANAGE_KEYS = "manage_keys"
    MANAGE_ACCOUNTS = "manage_accounts"
    MANAGE_TOKENS = "manage_tokens"
    VIEW_AUDIT = "view_audit"
    RESET_PASSWORDS = "reset_passwords"  # of the accounts one manages
    MANAGE_BODIES = "manage_bodies"  # platform operator: bodies and their first admins
    ACTIVATE_ACCOUNTS = "activate_accounts"  # platform operator: another operator's admins
    READ_FEED = "read_feed"  # national registry


BODY_ROLES = ("admin", "issuer", "viewer")
PLATFORM_ROLES = ("operator", "registry_admin", "registry")
ROLES = BODY_ROLES + PLATFORM_ROLES

P = Permission
ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "admin": frozenset(
        {
            P.READ,
            P.MANAGE_MEMBERS,
            P.MANAGE_SCOPE,
            P.MANAGE_KEYS,
            P.MANAGE_ACCOUNTS,
            P.RESET_PASSWORDS,
            P.MANAGE_TOKENS,
            P.VIEW_AUDIT,
        }
    ),
    "issuer": frozenset({P.READ, P.ISSUE, P.REVOKE}),
    "viewer": frozenset({P.READ}),
    "operator": frozenset({P.MANAGE_BODIES, P.ACTIVATE_ACCOUNTS, P.VIEW_AUDIT}),
    # MANAGE_TOKENS without a body: the registry's tokens (see web/console/people.py).
    "registry_admin": frozenset({P.MANAGE_TOKENS, P.VIEW_AUDIT}),
    "registry": frozenset({P.READ_FEED}),
}


def permissions_of(role: str) -> frozenset[Permission]:
    """What ``role`` may do (nothing for an unknown role)."""
    return ROLE_PERMISSIONS.get(role, frozenset())


def roles_with(permission: Permission) -> tuple[str, ...]:
    """Every role that has ``permission``, in :data:`ROLES` order."""
    return tuple(r for r in ROLES if permission in ROLE_PERMISSIONS[r])
