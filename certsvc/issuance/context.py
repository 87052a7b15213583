"""The JSON-LD context of certsvc's credentials: ``{public URL}/ns/skill-certificate/v1``.

Every credential and status statement lists ``https://www.w3.org/ns/credentials/v2`` and then
this context, which defines every other term they use, so a JSON-LD processor drops nothing
(tests/test_vc_context.py expands each kind with pyld). Terms map to schema.org where it has
one with the same meaning — the certificate is a ``schema:EducationalOccupationalCredential``,
its holder a ``schema:Person`` who ``schema:worksFor`` the employer and ``schema:hasOccupation``
the occupation, English names are ``schema:name`` tagged ``@language: en`` — and otherwise to
IRIs under the deployment's own namespace, ``{public URL}/ns/skill-certificate/v1#``.

**Immutable once published.** The context is a data file shipped in the package
(``certsvc/issuance/data/skill-certificate-v1.jsonld``); the service fills in only its
namespace (``{namespace}``) and serves it with a year-long ``immutable`` cache lifetime. A term
is never changed or removed in ``v1``: a change of meaning is a new file and a new URL
(``v2``), listed by newly signed credentials, while the old one stays served for the
credentials already signed. ``@protected`` keeps a later context from redefining our terms.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["CONTEXT_PATH", "context_document", "context_url"]

#: Where the service serves the context (relative to its public URL).
CONTEXT_PATH = "/ns/skill-certificate/v1"
_DATA_FILE = "skill-certificate-v1.jsonld"


@cache
def _template() -> str:
    return resources.files("certsvc.issuance").joinpath("data", _DATA_FILE).read_text("utf-8")


def context_url(public_url: str) -> str:
    """The context's URL as credentials list it, e.g. ``https://cert.example.cn/ns/…/v1``."""
    return public_url.rstrip("/") + CONTEXT_PATH


def context_document(public_url: str) -> dict[str, Any]:
    """The context document this deployment serves (its namespace filled in)."""
    namespace = json.dumps(context_url(public_url) + "#")[1:-1]
    document: dict[str, Any] = json.loads(_template().replace("{namespace}", namespace))
    return document
