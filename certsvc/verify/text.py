"""What the verification page says, in Chinese (the default) and English.

One table per language with the same keys; :func:`texts` picks one. Status titles are keyed
``status.<status>``, explanations ``why.<status>`` or, more precisely, ``why.<reason>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from certsvc.i18n import N_, gettext, use_language

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"


def preferred_language(accepted: Iterable[tuple[str, float]]) -> str:
    """The page language for an ``Accept-Language`` header, read by primary subtag.

    *accepted* is (language tag, quality) in order of preference — highest quality first,
    the header's order among equals, as werkzeug's ``request.accept_languages`` iterates. The
    first tag whose primary subtag is one of :data:`LANGUAGES` wins (``zh-CN``, ``zh-Hans``,
    ``zh-TW`` are all ``zh``); none, or only ``*``: :data:`DEFAULT_LANGUAGE`. (werkzeug's
    ``best_match`` prefers an exact tag at any quality, so iOS Safari's
    ``zh-CN,zh-Hans;q=0.9,en;q=0.8`` got the English page.)
    """
    for tag, quality in accepted:
        primary = tag.replace("_", "-").split("-", 1)[0].lower()
        if quality > 0 and primary in LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE


#: Every text of the pages by key, as an English message id: :func:`texts` translates
#: them (the Chinese is in the catalogue).
_TEXTS: dict[str, str] = {
    "app": N_("Skill certificate verification"),
    "status.valid": N_("Valid certificate"),
    "status.revoked": N_("Revoked"),
    "status.superseded": N_("Superseded by a corrected certificate"),
    "status.invalid_signature": N_("Invalid signature · do not accept"),
    "status.unknown_key": N_("Unknown signing key · do not accept"),
    "status.malformed": N_("Unreadable code"),
    "status.not_found": N_("Certificate not found"),
    "why.valid": N_(
        "The signature is genuine, the content matches the issuer's record and the certificate is "
        "current. Check that the details below match the paper certificate."
    ),
    "why.revoked": N_("The issuing body has revoked this certificate; it is no longer valid."),
    "why.superseded": N_("This certificate was replaced by a corrected one; rely on the new one."),
    "why.invalid_signature": N_(
        "The signature does not verify: the content may have been altered, or it was not issued by "
        "this service."
    ),
    "why.tampered": N_(
        "The signature does not match the QR content: it was altered after signing, or forged."
    ),
    "why.unsupported_header": N_(
        "The QR code uses a signature algorithm this service never uses; it was not issued here."
    ),
    "why.key_compromised": N_(
        "The key that signed this certificate was reported compromised and the certificate was "
        "created after that time; the signature cannot be trusted."
    ),
    "why.key_compromised_undecided": N_(
        "The signing key was reported compromised; offline the signing time cannot be established. "
        "Verify online."
    ),
    "why.record_mismatch": N_(
        "The signed details in the QR code differ from the issuer's record; do not accept it."
    ),
    "why.unknown_key": N_(
        "The key that signed this code is not one of this service's keys; the origin cannot be "
        "confirmed."
    ),
    "why.malformed": N_(
        "The QR content is incomplete or not a certificate code of this service. Scan again, or "
        "use the manual look-up below."
    ),
    "why.not_found": N_(
        "No certificate matches. Check the certificate number, the name or the ID number."
    ),
    "technical": N_("Technical details (for developers)"),
    "technical.status": N_("Status code"),
    "technical.reason": N_("Reason code"),
    "technical.message": N_("Message"),
    "reason": N_("Reason"),
    "revoked_at": N_("Revoked on"),
    "newer": N_("New certificate"),
    "open_newer": N_("Open the new certificate"),
    "record_heading": N_("The certificate as the issuer recorded it"),
    "photo": N_("Holder photo"),
    "photo_hint": N_(
        "The photo the issuer stored (its digest is signed). Check that it shows the same person "
        "as the photo on the paper certificate."
    ),
    "field.number": N_("Certificate number"),
    "field.holder_name": N_("Name"),
    "field.id": N_("ID"),
    "field.occupation": N_("Occupation"),
    "field.work_type": N_("Work type / specialty"),
    "field.level": N_("Level"),
    "field.issue_date": N_("Issued on"),
    "field.route": N_("Route"),
    "field.issuer": N_("Issuing body"),
    "route.regular": N_("Regular assessment"),
    "route.direct": N_("Direct certification"),
    "ground": N_("Ground"),
    "evidence": N_("Evidence"),
    "meta.kid": N_("Signing key"),
    "meta.key_status": N_("Key status"),
    "key.active": N_("active"),
    "key.retired": N_("retired (earlier signatures stay valid)"),
    "key.compromised": N_("reported compromised"),
    "meta.checked_at": N_("Checked at"),
    "meta.online": N_("Signature and record checked on the server."),
    "log.included": N_("Logged in the public issuance log, checkpoint size {size}"),
    "log.unverified": N_(
        "The public issuance log does not confirm this certificate: the record differs from what "
        "was logged at issuance."
    ),
    "log.checkpoint": N_("Signed checkpoint"),
    "device.checking": N_("Checking the signature on this device…"),
    "device.ok": N_(
        "Signature checked on this device: number, name, occupation and issue date match the "
        "signature."
    ),
    "device.bad": N_(
        "Not confirmed on this device: the signature is invalid or does not match the details "
        "below."
    ),
    "device.ok_revoked": N_(
        "Signature genuine, but the certificate has been revoked: this device confirms the "
        "signature, but the issuing body has revoked the certificate; do not accept it as valid."
    ),
    "device.ok_superseded": N_(
        "Signature genuine, but the certificate has been replaced by a corrected one: rely on the "
        "new certificate."
    ),
    "device.ok_not_valid": N_(
        "Signature genuine, but the server's check failed: the result above stands."
    ),
    "device.unsupported": N_(
        "This browser cannot check the signature itself (the server's check above stands)."
    ),
    "lookup.heading": N_("Manual look-up"),
    "lookup.by_number": N_("By certificate number and name"),
    "lookup.by_id": N_("By ID number and name"),
    "lookup.number": N_("Certificate number (22 characters)"),
    "lookup.name": N_("Name"),
    "lookup.id_type": N_("ID type"),
    "lookup.id_number": N_("ID number"),
    "lookup.submit": N_("Look up"),
    "lookup.id_note": N_(
        "The ID number is used for this look-up only and is never stored or logged; results show "
        "it masked."
    ),
    "lookup.none": N_("No certificate matches."),
    "lookup.results": N_("Results"),
    "lookup.count": N_("{n} certificate(s)"),
    "lookup.details": N_("Details"),
    "lookup.again": N_("New look-up"),
    "error": N_("Please check your entry"),
    "error.invalid_certificate_number": N_(
        "A certificate number has 22 characters: Y or S, then digits (or a level letter and "
        "digits); copy it exactly as printed."
    ),
    "error.invalid_id_number": N_(
        "This ID number is not valid; check every character against the document."
    ),
    "error.invalid_name": N_("Enter the holder's name as printed on the certificate."),
    "error.invalid_id_type": N_("Choose an ID type from the list."),
    "too_many": N_("Too many requests"),
    "too_many.why": N_("Please try again later (in about {n} seconds)."),
    "front.title": N_("Skill certificates: issued and verified here"),
    "front.intro": N_(
        "The certification bodies below issue electronic vocational skill certificates with this "
        "service. Anyone can check here whether a certificate is genuine and what its status is: "
        "valid, revoked, or replaced by a corrected one."
    ),
    "front.verify": N_("Verify a certificate"),
    "front.verify_note": N_("Enter the certificate number and the holder's name as printed."),
    "front.scan": N_("Scan to verify"),
    "front.scan_how": N_(
        "Every certificate carries a QR code in its lower right corner. Point your phone's camera "
        "(or WeChat's Scan) at it and open the link it shows: the certificate's verification page "
        "opens, with no app and no log-in."
    ),
    "front.scan_check": N_(
        "The page's address should start with this service's address; the page checks the "
        "certificate's signature again on your phone."
    ),
    "front.by_id": N_(
        "No certificate number? Find all of a holder's certificates by ID number and name"
    ),
    "front.bodies": N_("Certification bodies issuing here"),
    "front.bodies_none": N_("No certification body issues here yet."),
    "front.body_code": N_("Body code"),
    "front.kind.Y": N_("Employer (enterprise)"),
    "front.kind.S": N_("Social training and assessment organisation"),
    "front.chain_leader": N_("Chain leader: may also certify staff of its ecosystem members"),
    "front.staff": N_("Staff of a certification body"),
    "front.console": N_("Log in to the console (issue, revoke, correct certificates)"),
    "front.developers": N_("Developers and verifying systems"),
    "front.openapi": N_("Public API description (OpenAPI)"),
    "front.jwks": N_("Signing keys (JWKS)"),
    "front.transparency": N_("Public issuance log (transparency log)"),
    "front.checkpoint": N_("The issuance log's latest checkpoint"),
    "footer": N_(
        "Generated by the issuing body's certificate service. National query: jndj.osta.org.cn"
    ),
}

#: Not messages but forms of each language: the page's ``lang``, the colon, the name of
#: the other language on the switch.
_PER_LANGUAGE: dict[str, dict[str, str]] = {
    "zh": {
        "html_lang": "zh-CN",
        "colon": "：",
        "switch": "English",
    },
    "en": {
        "html_lang": "en",
        "colon": ": ",
        "switch": "中文",
    },
}


def texts(language: str) -> Mapping[str, str]:
    """Every text of the pages in *language* (``zh`` or ``en``; anything else gets Chinese)."""
    language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    with use_language(language):
        table = {key: gettext(message) for key, message in _TEXTS.items()}
    return {**table, **_PER_LANGUAGE[language]}
