"""Every request and response of the public routes, declared once as pydantic models.

The handlers validate request bodies with these models (:func:`certsvc.web.json_body.parse`)
and :mod:`certsvc.web.openapi` turns the same models into the OpenAPI 3.1 document served at
``/api/v1/openapi.json``; ``tests/test_api_schema.py`` checks the two against each other.
Value rules DESIGN.md answers with 422 and a domain code (a number's shape, a blank name)
are shown in the document (:func:`Shown`) and checked by the domain, not by the model.
The limits are the ones the rest of certsvc already declares (row cells, holder names, the
change feed's page size); the values a schema cannot express — check digits, a body's scope,
whether a number exists — stay in the runtime and answer 422 or 404 as documented.

Requests forbid unknown members and take strings only as strings (no coercion). Responses
forbid unknown members too: the document lists every member the server writes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, create_model
from sqlalchemy import String
from sqlalchemy.orm import InstrumentedAttribute

from certsvc.domain.ids import IdType
from certsvc.domain.routes import Route
from certsvc.domain.statuses import CertificateStatus
from certsvc.holders.photos import MAX_PHOTO_BYTES, MAX_RATIO, MIN_HEIGHT, MIN_RATIO, MIN_WIDTH
from certsvc.issuance.certificates import CORRECTABLE
from certsvc.issuance.columns import COLUMNS, MAX_CELL_CHARS, MAX_EVIDENCE_CHARS
from certsvc.models import Batch as BatchRow
from certsvc.models import Certificate
from certsvc.models.base import text_limit
from certsvc.registry.stats import DIMENSIONS
from certsvc.signing.jwks import KEY_STATUSES
from certsvc.verify.lookup import MAX_NAME_LENGTH
from certsvc.verify.result import OFFLINE_GAPS, REASONS, STATUSES

__all__ = [
    "MAX_IDEMPOTENCY_KEY",
    "MAX_ID_NUMBER",
    "MAX_NUMBER",
    "MAX_REASON",
    "MAX_TOKEN",
    "NUMBER_PATTERN",
]


def _column_length(column: InstrumentedAttribute[Any]) -> int:
    """The declared length of a String column (the limit a request may not exceed)."""
    kind = column.type
    assert isinstance(kind, String) and kind.length is not None, column
    return kind.length


MAX_TOKEN = 4096  # a QR token is a few hundred characters
MAX_NUMBER = 64  # 22 characters, with room for spaces a person may type
MAX_ID_NUMBER = 64
MAX_REASON = text_limit(Certificate.status_reason).max_chars
MAX_IDEMPOTENCY_KEY = _column_length(BatchRow.idempotency_key)  # the column that keeps it
#: What ``Idempotency-Key`` may hold: visible ASCII.
IDEMPOTENCY_PATTERN = rf"^[\x21-\x7e]{{1,{MAX_IDEMPOTENCY_KEY}}}$"
#: A certificate number's shape: Y or S, an optional level letter, digits to 22 characters
#: (:func:`certsvc.domain.numbers.looks_like_certificate_number`, which also reads the number
#: with spaces, full-width digits or in lower case, as a person may type it).
NUMBER_PATTERN = r"^[YS](?:[A-Z][0-9]{20}|[0-9]{21})$"
#: A compact JWS's shape: three base64url parts (the page answers 400 for anything else).
TOKEN_PATTERN = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$"  # noqa: S105 - a shape
#: At least one character that is not white space (a name must not be blank).
NOT_BLANK = r"\S"
#: A stripped revocation reason of at least 4 characters.
REASON_PATTERN = r"^\s*\S[\s\S]{2,}\S\s*$"


def Shown(pattern: str, **limits: int) -> Any:
    """A rule the document shows and the domain checks (answering 422 with its own code,
    e.g. ``invalid_certificate_number``), where a 400 from the model would change the contract.

    Used for the value rules DESIGN.md assigns to 422: a number's shape, a blank name or
    reason, and for the forms of the HTML pages, whose every refusal is a 422 page.
    """
    return Field(
        json_schema_extra={"pattern": pattern, **{_CAMEL[k]: v for k, v in limits.items()}}
    )


_CAMEL = {"min_length": "minLength", "max_length": "maxLength"}

#: A string that must arrive as a JSON string: strict, so no conversion of any kind.
Text = Annotated[str, Strict()]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Response(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- errors ------------------------------------------------------------------------------------


class ErrorDetail(_Response):
    code: str = Field(description="Stable machine-readable code, e.g. invalid_request.")
    message: str = Field(description="One English line saying what to do.")


class Error(_Response):
    """Every error answer: ``{"error": {"code", "message"}}``."""

    error: ErrorDetail


class RowProblem(_Response):
    index: int = Field(description="Position in the submitted rows, from 0.")
    field: str | None = Field(description="The row's field, or null for the row as a whole.")
    message: str


class IssuingErrorDetail(_Response):
    code: str
    message: str
    rows: list[RowProblem] | None = Field(
        None, description="batch_rejected only: every problem, by row and field."
    )


class IssuingError(_Response):
    """An error of the issuing API; ``batch_rejected`` lists every problem by row."""

    error: IssuingErrorDetail


# --- verification ------------------------------------------------------------------------------


class VerifyRequest(_Request):
    token: Annotated[Text, Field(min_length=1, max_length=MAX_TOKEN)] = Field(
        description="The compact JWS after /v/ in the QR code's URL."
    )


class LookupByNumberRequest(_Request):
    number: Annotated[Text, Field(min_length=1, max_length=MAX_NUMBER), Shown(NUMBER_PATTERN)]
    name: Annotated[Text, Field(min_length=1, max_length=MAX_NAME_LENGTH), Shown(NOT_BLANK)]


class LookupByIdRequest(_Request):
    id_number: Annotated[Text, Field(min_length=1, max_length=MAX_ID_NUMBER), Shown(NOT_BLANK)] = (
        Field(description="Used only to compute a keyed hash; never stored.")
    )
    name: Annotated[Text, Field(min_length=1, max_length=MAX_NAME_LENGTH), Shown(NOT_BLANK)]
    id_type: IdType = IdType.RESIDENT_ID


class Issuer(_Response):
    code: str | None
    name: str | None
    name_en: str | None


Status = CertificateStatus


class PublicCertificate(_Response):
    """Every certified field as the issuer recorded it (masked ID only)."""

    number: str = Field(description="Certificate number (22 characters).")
    holder_name: str
    id_type: IdType | None
    id_type_name: str | None
    id_type_name_en: str | None
    id_number_masked: str | None = Field(
        description="Masked ID number, e.g. 3201**********123X; never the clear one."
    )
    occupation_code: str = Field(description="国家职业分类大典 code, e.g. 6-31-01-03.")
    occupation_name: str | None
    occupation_name_en: str | None
    work_type: str | None = Field(description="工种/职业方向; '--' when none.")
    level: str | None = Field(description="Level code: 1..5, T, C.")
    level_name: str | None = Field(description="As printed, e.g. 三级/高级工.")
    level_name_en: str | None
    issue_date: str = Field(json_schema_extra={"format": "date"})
    route: Route | None
    direct_ground: str | None
    direct_ground_name: str | None
    direct_ground_name_en: str | None
    direct_evidence: str | None
    issuer: Issuer
    status: Status | None
    status_reason: str | None
    status_changed_at: str | None = Field(json_schema_extra={"format": "date-time"})


class SignedFields(_Response):
    """The fields a QR token signs, as signed."""

    number: str
    holder_name: str
    occupation_code: str
    issue_date: str = Field(json_schema_extra={"format": "date"})


class InclusionProof(_Response):
    """Proof that a certificate's issuance is in a signed checkpoint of the issuance log."""

    checkpoint: str = Field(description="The signed checkpoint (C2SP signed note).")
    origin: str
    tree_size: int = Field(ge=1)
    root_hash: str = Field(description="Standard base64, as in the checkpoint.")
    seq: int = Field(ge=1)
    leaf_index: int = Field(ge=0)
    leaf_data: str = Field(description="The logged leaf (canonical JSON).")
    leaf_hash: str
    proof: list[str]
    log_key: str = Field(description="Signed-note verifier key of the log.")
    verified: bool = Field(description="The service's records, the proof and the signature agree.")


# Values kept in their own modules' tuples, shown as enums (responses are not re-validated).
VerificationStatus = Annotated[str, Field(json_schema_extra={"enum": list(STATUSES)})]
Reason = Annotated[str, Field(json_schema_extra={"enum": list(REASONS)})]
KeyStatus = Annotated[str, Field(json_schema_extra={"enum": list(KEY_STATUSES)})]
OfflineGap = Annotated[str, Field(json_schema_extra={"enum": list(OFFLINE_GAPS)})]


class VerificationResult(_Response):
    """The verification result, the same on the page, in this API and in `certsvc verify`.
    Only `valid` means genuine, matching the record and current."""

    status: VerificationStatus
    reason: Reason | None
    message: str = Field(description="One line in English saying why.")
    mode: Literal["online", "offline"]
    checked_at: str = Field(json_schema_extra={"format": "date-time"})
    kid: str | None = Field(description="RFC 7638 thumbprint of the signing key.")
    key_status: KeyStatus | None
    certificate: PublicCertificate | None
    signed: SignedFields | None
    superseded_by: str | None = Field(description="Number of the newer certificate.")
    superseded_by_token: str | None = Field(
        description="QR token of the newer certificate (verify it in turn)."
    )
    not_checked: list[OfflineGap]
    transparency: InclusionProof | None = Field(
        description="The issuance's inclusion proof in the latest checkpoint; null when the "
        "certificate is not in a checkpoint yet."
    )


class IdLookupResult(_Response):
    checked_at: str = Field(json_schema_extra={"format": "date-time"})
    count: int = Field(ge=0)
    certificates: list[VerificationResult]


# --- issuing -----------------------------------------------------------------------------------


def _cell(key: str) -> int:
    return MAX_EVIDENCE_CHARS if key == "direct_evidence" else MAX_CELL_CHARS


def _row_field(key: str, required: bool) -> Any:
    column = next(c for c in COLUMNS if c.key == key)
    text = Annotated[Text, Field(max_length=_cell(key))]
    info = Field(
        ... if required else None,
        description=f"{column.label_zh} / {column.label_en}: {column.hint_en}",
    )
    return (text if required else text | None, info)


#: A row's photo in base64: the photo file's limit, as base64 (4 characters per 3 bytes).
MAX_PHOTO_BASE64 = (MAX_PHOTO_BYTES + 2) // 3 * 4
PHOTO_BASE64_PATTERN = r"^[A-Za-z0-9+/]*={0,2}$"

_PHOTO_FIELD: Any = (
    Annotated[
        Text,
        Field(max_length=MAX_PHOTO_BASE64),
        Field(
            json_schema_extra={
                "pattern": PHOTO_BASE64_PATTERN,
                "contentEncoding": "base64",
            }
        ),
    ]
    | None,
    Field(
        None,
        description=(
            "照片 / Photo: the holder's 1-inch photo, the bytes of a JPEG or PNG file in "
            f"base64 (standard alphabet, padded); at most {MAX_PHOTO_BYTES // (1024 * 1024)} MB, "
            f"at least {MIN_WIDTH} × {MIN_HEIGHT} pixels, width / height {MIN_RATIO}–{MAX_RATIO} "
            "(5:7). It is stored re-encoded without metadata. Required when the body requires "
            "photos (the default); a problem with it is a row problem (422, field photo)."
        ),
    ),
)

#: One certificate to issue: the columns of the results template, and the holder's photo.
IssuingRow: type[BaseModel] = create_model(
    "IssuingRow",
    __config__=ConfigDict(extra="forbid", frozen=True),
    **{c.key: _row_field(c.key, c.required) for c in COLUMNS},
    photo=_PHOTO_FIELD,
)

#: The fields a correction may change (all optional; at least one).
Changes: type[BaseModel] = create_model(
    "Changes",
    __config__=ConfigDict(extra="forbid", frozen=True, json_schema_extra={"minProperties": 1}),
    **{key: _row_field(key, False) for key in CORRECTABLE},
)


class IssuingBatchRequest(_Request):
    rows: list[IssuingRow] = Field(  # type: ignore[valid-type]
        min_length=1, description="The rows to issue, all or none; at most the service's limit."
    )


class RevokeRequest(_Request):
    reason: Annotated[Text, Field(max_length=MAX_REASON), Shown(REASON_PATTERN, min_length=4)]


class ReissueRequest(_Request):
    changes: Changes = Field(  # type: ignore[valid-type]
        description='The fields to change and their new text, e.g. {"name": "张三丰"}.'
    )


class IssuedCertificateBrief(_Response):
    index: int | None = Field(description="Position in the submitted rows.")
    number: str
    holder_name: str
    status: Status
    verify_url: str = Field(json_schema_extra={"format": "uri"})


class Batch(_Response):
    id: str
    status: Literal["issued"]
    source: str = Field(description="csv, xlsx, api or console")
    created_at: str = Field(json_schema_extra={"format": "date-time"})
    row_count: int
    certificates: list[IssuedCertificateBrief]


class IssuedBatch(Batch):
    replayed: bool = Field(description="True when the Idempotency-Key was used before.")
    superseded: list[str] = Field(description="Numbers this batch's corrections superseded.")


class HistoryEntry(_Response):
    seq: int
    kind: Literal["issued", "revoked", "superseded", "photo_replaced"]
    certificate: str | None
    at: str = Field(json_schema_extra={"format": "date-time"})
    reason: str | None


class IssuedCertificate(PublicCertificate):
    """A certificate of the token's body: every certified field, status and history."""

    employer_uscc: str
    employer_name: str
    batch_id: str | None
    verify_url: str = Field(json_schema_extra={"format": "uri"})
    supersedes: str | None
    superseded_by: str | None
    history: list[HistoryEntry]


class Reissued(_Response):
    batch_id: str
    replayed: bool
    certificate: IssuedCertificate


# --- registry ----------------------------------------------------------------------------------


class RegistryKey(_Response):
    kty: Literal["OKP"]
    crv: Literal["Ed25519"]
    x: str
    kid: str
    body: str


class RegistryHolder(_Response):
    """Clear ID number and the salt of the commitment signed in the record."""

    id_type: IdType
    id_number: str
    id_salt: str


class RegistryEvent(_Response):
    """One event; the members after ``body`` depend on ``kind`` (see the feed's description)."""

    seq: int = Field(ge=1)
    kind: Literal[
        "issued",
        "revoked",
        "superseded",
        "photo_replaced",
        "key_created",
        "key_rotated",
        "key_compromised",
        "body_created",
        "body_changed",
    ]
    occurred_at: str = Field(json_schema_extra={"format": "date-time"})
    body: str | None
    certificate: str | None = Field(None, description="Certificate number.")
    kid: str | None = None
    record: str | None = Field(
        None,
        description="issued: the certificate as a VC 2.0 vc+jwt; revoked/superseded: the "
        "signed CertificateStatusStatement (vc+jwt); photo_replaced: the certificate's vc+jwt "
        "re-signed with the new holder photo's digest (relatedResource).",
    )
    holder: RegistryHolder | None = None
    reason: str | None = None
    superseded_by: str | None = None
    key: RegistryKey | None = None
    compromised_after: str | None = Field(None, json_schema_extra={"format": "date-time"})
    photo_sha256: str | None = Field(
        None,
        description="photo_replaced: hex SHA-256 of the new holder photo "
        "(GET /api/v1/registry/photos/{sha256}).",
    )
    data: dict[str, Any] | None = None


class RegistryChangePage(_Response):
    head: int = Field(description="Last seq when the page began.")
    after: int
    limit: int
    scope: str | None = Field(description="Body code of a scoped token.")
    checkpoint: str | None = Field(
        description="The transparency log's latest signed checkpoint when the page began "
        "(C2SP signed note); null before the first."
    )
    events: list[RegistryEvent]
    count: int
    next: int = Field(description="Cursor for the next page.")


class CountRow(_Response):
    key: str
    label: str
    certificates: int
    holders: int


class Totals(_Response):
    certificates: int
    holders: int


#: One table per dimension of :data:`certsvc.registry.stats.DIMENSIONS`.
_TABLES: dict[str, Any] = {name: (list[CountRow], ...) for name in DIMENSIONS}
StatsBy: type[BaseModel] = create_model("StatsBy", __config__=ConfigDict(extra="forbid"), **_TABLES)


class RegistryStats(_Response):
    generated_at: str = Field(json_schema_extra={"format": "date-time"})
    basis: str
    scope: str | None
    totals: Totals
    by: StatsBy  # type: ignore[valid-type]


# --- keys and the transparency log -------------------------------------------------------------


class Jwk(_Response):
    """One signing key (RFC 8037 OKP), with its status."""

    kty: Literal["OKP"]
    crv: Literal["Ed25519"]
    x: str
    kid: str = Field(description="RFC 7638 thumbprint.")
    alg: Literal["EdDSA"]
    use: Literal["sig"]
    status: KeyStatus
    created_at: str = Field(json_schema_extra={"format": "date-time"})
    compromised_after: str | None = Field(
        None,
        json_schema_extra={"format": "date-time"},
        description="Compromised keys only: signatures after this time are not trusted.",
    )
    body: str | None = Field(None, description="The certification body that owns the key.")


class JwkSet(_Response):
    """Every public key that ever signed (DESIGN.md contract — JWKS)."""

    keys: list[Jwk]


class LogJwk(_Response):
    kty: Literal["OKP"]
    crv: Literal["Ed25519"]
    x: str
    kid: str


class LogKeyEntry(_Response):
    kid: str
    status: str
    note_key: str = Field(description="Signed-note verifier key.")
    jwk: LogJwk
    created_at: str = Field(json_schema_extra={"format": "date-time"})


class TransparencyDocument(_Response):
    """The issuance log's public description: origin, keys, latest checkpoint."""

    origin: str | None
    hash: str
    leaf_format: int
    checkpoint_format: str
    keys: list[LogKeyEntry]
    checkpoint: str | None
    tree_size: int = Field(ge=0)
    root_hash: str | None


class InclusionPath(_Response):
    seq: int = Field(ge=0)
    leaf_index: int
    tree_size: int = Field(ge=0)
    proof: list[str] = Field(description="The inclusion proof (RFC 6962), standard base64.")


class ConsistencyPath(_Response):
    old: int = Field(ge=0)
    new: int = Field(ge=0)
    proof: list[str] = Field(description="The consistency proof (RFC 6962), standard base64.")


class Health(_Response):
    status: Literal["ok"]


class Readiness(_Response):
    status: Literal["ready", "not_ready"]
    checks: dict[str, Literal["ok", "unavailable"]] = Field(
        description="database, job_queue and (when configured) redis: each ok or unavailable."
    )


# --- jobs (long work answers 202) --------------------------------------------------------------


class JobProgress(_Response):
    done: int = Field(ge=0)
    total: int = Field(ge=0)
    percent: int = Field(ge=0, le=100)


class JobFile(_Response):
    name: str
    type: str = Field(description="Its media type (application/zip, application/pdf, …).")
    size: int = Field(ge=0)
    url: str = Field(description="Where the file is downloaded (the token of the job's body).")


class JobError(_Response):
    code: str
    message: str


class Job(_Response):
    """A background job (:mod:`certsvc.jobs`): its state, progress and result or error."""

    id: str
    kind: Literal["batch_zip", "batch_print", "import", "stats_export"]
    state: Literal["queued", "running", "succeeded", "failed", "expired"]
    finished: bool
    progress: JobProgress
    attempts: int = Field(ge=0)
    params: dict[str, Any]
    created_by: str
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    expires_at: str | None
    outcome: dict[str, Any] | None = Field(
        description="An import's issued batch: batch_id, certificates, replayed."
    )
    result: JobFile | None
    error: JobError | None
    url: str = Field(description="The job's own URL (poll it until finished is true).")


# --- HTML forms --------------------------------------------------------------------------------


class NumberLookupForm(BaseModel):
    """The look-up page's form by number; unknown fields are ignored, as browsers add some."""

    number: Annotated[str, Shown(NUMBER_PATTERN, min_length=1, max_length=MAX_NUMBER)]
    name: Annotated[str, Shown(NOT_BLANK, min_length=1, max_length=MAX_NAME_LENGTH)]
    lang: str | None = Field(None, description="zh or en; anything else is ignored.")


class IdLookupForm(BaseModel):
    """The look-up page's form by ID number."""

    id_number: Annotated[str, Shown(NOT_BLANK, min_length=1, max_length=MAX_ID_NUMBER)]
    name: Annotated[str, Shown(NOT_BLANK, min_length=1, max_length=MAX_NAME_LENGTH)]
    id_type: IdType = IdType.RESIDENT_ID
    lang: str | None = Field(None, description="zh or en; anything else is ignored.")
