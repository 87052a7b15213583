"""Accounts, API tokens, roles and permissions, the audit log."""
