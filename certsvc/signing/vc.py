"""W3C Verifiable Credentials 2.0 secured as ``vc+jwt``.

Follows "Securing Verifiable Credentials using JOSE and COSE" (W3C), §3.1.1 and §3.1.2:

* The JWS payload *is* the credential JSON ("the unsecured verifiable credential is the
  unencoded JWS payload"); there is no ``vc`` wrapper claim — the claim names ``vc`` and
  ``vp`` MUST NOT be present, and we refuse credentials that contain them.
* Protected header ``{"alg":"EdDSA","kid":...,"typ":"vc+jwt","cty":"vc"}``: ``typ`` SHOULD
  be ``vc+jwt``; ``cty``, when present, SHOULD be ``vc`` (we always send it).
* No ``iss``/``iat``/``exp``/``nbf`` claims are added. The spec leaves them optional,
  says ``iat``/``exp`` describe the *signature* (not the credential's ``validFrom``/
  ``validUntil``), calls ``nbf`` NOT RECOMMENDED, and asks implementers to avoid values
  that conflict with ``issuer``/``id``/``credentialSubject.id``. Leaving them out keeps a
  record byte-for-byte reproducible (same credential + key -> same token, Ed25519 being
  deterministic), which the registry feed relies on when replaying from a cursor. The key
  is found by ``kid`` in the JWKS, which the spec allows. A caller may still put ``iss``
  in the credential: it MUST then equal ``issuer`` (or ``issuer.id``), and we check that.
* Verification requires ``typ`` ``vc+jwt`` (``application/vc+jwt`` also accepted per RFC
  7515 §4.1.9) and, if present, ``cty`` ``vc``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from certsvc.errors import InvalidInput, MalformedToken
from certsvc.i18n import N_, Message, joined
from certsvc.signing.jwks import parse_rfc3339
from certsvc.signing.jws import JwsSigner, SigningJob, VerifiedJws, verify_compact
from certsvc.signing.strictjson import dumps_compact, loads_object

__all__ = [
    "VC_CONTEXT_V2",
    "VC_CTY",
    "VC_JWT_TYP",
    "check_credential",
    "credential_bytes",
    "sign_credential",
    "verify_credential",
]

VC_CONTEXT_V2 = "https://www.w3.org/ns/credentials/v2"
VC_JWT_TYP = "vc+jwt"
VC_CTY = "vc"


def _issuer_id(issuer: object) -> str | None:
    if isinstance(issuer, str) and issuer:
        return issuer
    if isinstance(issuer, Mapping) and isinstance(issuer.get("id"), str) and issuer["id"]:
        return str(issuer["id"])
    return None


def _problems(credential: object) -> list[Message]:
    """Everything wrong with the minimal VC 2.0 shape of *credential* (empty when fine)."""
    if not isinstance(credential, Mapping):
        return [
            Message(
                N_("a credential must be a JSON object, not {type}"),
                type=type(credential).__name__,
            )
        ]
    problems: list[Message] = []
    context = credential.get("@context")
    if not isinstance(context, list) or not context or context[0] != VC_CONTEXT_V2:
        problems.append(
            Message(
                N_("'@context' must be a list whose first item is {context!r}"),
                context=VC_CONTEXT_V2,
            )
        )
    types = credential.get("type")
    type_list = [types] if isinstance(types, str) else types
    if not isinstance(type_list, list) or "VerifiableCredential" not in type_list:
        problems.append(Message(N_("'type' must include 'VerifiableCredential'")))
    issuer = _issuer_id(credential.get("issuer"))
    if issuer is None:
        problems.append(Message(N_("'issuer' must be a URL string or an object with an 'id'")))
    subject = credential.get("credentialSubject")
    subjects = [subject] if isinstance(subject, Mapping) else subject
    if (
        not isinstance(subjects, list)
        or not subjects
        or not all(isinstance(s, Mapping) for s in subjects)
    ):
        problems.append(
            Message(N_("'credentialSubject' must be an object or a non-empty list of objects"))
        )
    for name in ("validFrom", "validUntil"):
        if name == "validFrom" or name in credential:
            try:
                parse_rfc3339(credential.get(name), what=f"'{name}'")
            except MalformedToken as exc:
                problems.append(exc.text)
    for claim in ("vc", "vp"):
        if claim in credential:
            problems.append(
                Message(
                    N_("the JWT claim {claim!r} must not be present (VC-JOSE-COSE §3.1.1)"),
                    claim=claim,
                )
            )
    if "iss" in credential and credential["iss"] != issuer:
        problems.append(
            Message(N_("'iss' is present and differs from the issuer id; it must match"))
        )
    return problems


def check_credential(credential: Mapping[str, Any]) -> None:
    """Check the minimal VC 2.0 shape; raise :class:`~certsvc.errors.InvalidInput` if wrong.

    Required: ``@context`` starting with :data:`VC_CONTEXT_V2`; ``type`` including
    ``VerifiableCredential``; ``issuer``; ``credentialSubject``; ``validFrom`` (and
    ``validUntil`` if present) as RFC 3339 date-times; no ``vc``/``vp``; ``iss`` if present
    equal to the issuer id.
    """
    problems = _problems(credential)
    if problems:
        raise InvalidInput(
            N_("not a Verifiable Credential 2.0: {problems}"), problems=joined(problems)
        )


def credential_bytes(credential: Mapping[str, Any]) -> bytes:
    """The deterministic payload: sorted keys, compact separators, UTF-8, non-ASCII kept."""
    try:
        return dumps_compact(credential, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            N_("credential is not plain JSON ({exc}); convert dates and numbers to strings"),
            exc=exc,
        ) from exc


def sign_credential(credential: Mapping[str, Any], key: Ed25519PrivateKey, kid: str) -> str:
    """Check *credential*, then sign it as a ``vc+jwt`` compact JWS with *key*/*kid*."""
    return sign_credential_with(JwsSigner(key, kid), credential)


def sign_credential_with(signer: JwsSigner, credential: Mapping[str, Any]) -> str:
    """Like :func:`sign_credential`, with a signer whose kid was checked once already."""
    payload, typ, cty = credential_job(credential)
    return signer.sign(payload, typ, cty=cty)


def credential_job(credential: Mapping[str, Any]) -> SigningJob:
    """Check *credential* and make it a job for :meth:`JwsSigner.sign_all` (a vc+jwt)."""
    check_credential(credential)
    return credential_bytes(credential), VC_JWT_TYP, VC_CTY


def verify_credential(
    token: str, key_for_kid: Callable[[str], Ed25519PublicKey]
) -> tuple[dict[str, Any], VerifiedJws]:
    """Verify a ``vc+jwt`` token; return the credential and the verified JWS.

    Raises :class:`~certsvc.errors.MalformedToken` if ``typ``/``cty`` are wrong or the
    payload is not a JSON object of the VC 2.0 shape, and the errors of
    :func:`~certsvc.signing.jws.verify_compact` otherwise. The shape is checked only after
    the signature, so nothing unsigned is interpreted.
    """
    verified = verify_compact(token, key_for_kid, expected_typ=VC_JWT_TYP)
    cty = verified.header.get("cty", VC_CTY)
    if not isinstance(cty, str) or cty.lower().removeprefix("application/") != VC_CTY:
        raise MalformedToken(N_("vc+jwt token has cty {cty!r}; a credential has cty 'vc'"), cty=cty)
    credential = loads_object(verified.payload, what=Message(N_("credential")))
    problems = _problems(credential)
    if problems:
        raise MalformedToken(
            N_("signed payload is not a Verifiable Credential 2.0: {problems}"),
            problems=joined(problems),
        )
    return credential, verified
