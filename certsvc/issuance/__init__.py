"""Issuance: from a results file or API rows to numbered, signed, stored certificates."""
