"""Certification bodies: scope, ecosystem members, signing keys."""
