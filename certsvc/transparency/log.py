"""The issuance transparency log as a service — the one place to import it from.

The work lives in four modules, one per seam:

* :mod:`certsvc.transparency.keys` — the log's own signing key (create, rotate, unlock) and
  its origin.
* :mod:`certsvc.transparency.checkpoints` — :func:`append_and_checkpoint` brings the Merkle
  tree up to the last committed event and signs a checkpoint (:func:`publish` right after a
  commit); the published document.
* :mod:`certsvc.transparency.proofs` — :func:`certificate_inclusion` proves a certificate's
  ``issued`` event is in the latest checkpoint; :func:`log_position_at` maps a time (a
  key-compromise cutoff) to a log position.
* :mod:`certsvc.transparency.audit` — :func:`audit` recomputes every leaf from the event log
  and checks every stored checkpoint.
"""

from __future__ import annotations

from certsvc.transparency.audit import audit
from certsvc.transparency.checkpoints import (
    APPEND_CHUNK,
    SignedCheckpoint,
    append_and_checkpoint,
    append_events,
    latest_checkpoint,
    publish,
    sign_checkpoint,
    transparency_document,
)
from certsvc.transparency.keys import LogKeys, LogSigner, log_origin
from certsvc.transparency.proofs import (
    InclusionResult,
    LatestCheckpoint,
    OpenedCheckpoint,
    certificate_inclusion,
    inclusion_of,
    issued_facts,
    issued_facts_columns,
    join_issued_event,
    latest_checkpoint_columns,
    latest_of,
    log_position_at,
)

__all__ = [
    "APPEND_CHUNK",
    "InclusionResult",
    "LatestCheckpoint",
    "LogKeys",
    "LogSigner",
    "OpenedCheckpoint",
    "SignedCheckpoint",
    "append_and_checkpoint",
    "append_events",
    "audit",
    "certificate_inclusion",
    "inclusion_of",
    "issued_facts",
    "issued_facts_columns",
    "join_issued_event",
    "latest_checkpoint",
    "latest_checkpoint_columns",
    "latest_of",
    "log_origin",
    "log_position_at",
    "publish",
    "sign_checkpoint",
    "transparency_document",
]
