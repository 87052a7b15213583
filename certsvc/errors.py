"""One exception tree for certsvc.

Every failure a person can cause or fix is a :class:`CertsvcError` subclass with a stable
machine-readable ``code``. The web layer maps ``http_status`` to the response status and
renders ``{"error": {"code", "message"}}``; the CLI prints the message on one line and exits
with ``exit_code``. Messages are written for the person who must act on them: say what is
wrong and what to do.

A message is an English message id marked with ``N_`` and its ``str.format`` parameters:
``InvalidLevel(N_("level {level} does not exist"), level=text)``. It is rendered when shown,
in the language of the person reading it (:mod:`certsvc.i18n`); ``str(error)`` and logs are
English. The ``code`` never changes with the language.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from certsvc.i18n import N_, Message, plural


class CertsvcError(Exception):
    """Base of every error certsvc raises on purpose."""

    code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 400
    exit_code: ClassVar[int] = 1

    def __init__(self, message: str | Message, /, **params: Any) -> None:
        self.text = message if isinstance(message, Message) else _message(message, params)
        super().__init__(self.text.english)

    @property
    def message(self) -> str:
        """The message in the current language."""
        return str(self.text)

    @property
    def english(self) -> str:
        return self.text.english

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


def _message(msgid: str, params: dict[str, Any]) -> Message:
    if "n" in params:  # Message would take it as a plural's count and never fill in {n}
        raise TypeError(
            f"{{n}} is the count of a plural(); name the parameter otherwise: {msgid!r}"
        )
    return Message(msgid, **params)


class ConfigError(CertsvcError):
    """The service is configured wrongly (a missing secret, a bad URL)."""

    code = "config_error"
    http_status = 500
    exit_code = 78  # EX_CONFIG


class InvalidInput(CertsvcError):
    """A value does not follow the rules (a check digit, a level, a date)."""

    code = "invalid_input"
    http_status = 422
    exit_code = 65  # EX_DATAERR


class InvalidIdNumber(InvalidInput):
    code = "invalid_id_number"


class InvalidIdType(InvalidInput):
    code = "invalid_id_type"


class InvalidCreditCode(InvalidInput):
    """统一社会信用代码 (unified social credit code) fails its format or check character."""

    code = "invalid_credit_code"


class InvalidCertificateNumber(InvalidInput):
    code = "invalid_certificate_number"


class InvalidName(InvalidInput):
    """A holder name that cannot be on a certificate (empty, or too long)."""

    code = "invalid_name"


class InvalidLevel(InvalidInput):
    code = "invalid_level"


class UnknownOccupation(InvalidInput):
    code = "unknown_occupation"


class DirectCertificationNotAllowed(InvalidInput):
    code = "direct_certification_not_allowed"


class IdNumberInText(InvalidInput):
    """Free text (a reason, an evidence, a name of a body) holds an ID number: it would be
    published in clear, so it is refused before anything is signed or stored."""

    code = "id_number_in_text"


class BadFile(CertsvcError):
    """An uploaded results file cannot be read as a whole (encoding, header, size)."""

    code = "bad_file"
    http_status = 400
    exit_code = 65


class FileUnusable(CertsvcError):
    """A file or directory a command was told to read or write cannot be used (no such
    directory, not a directory, no permission, disk full)."""

    code = "file_unusable"
    http_status = 500
    exit_code = 74  # EX_IOERR


@dataclass(frozen=True)
class RowError:
    """One problem in one row of a batch: what a person needs to find and fix it."""

    row: int  # 1-based row number as the person sees it in the file (header is row 1)
    column: str  # the column's key, e.g. "id_number"; "" when the whole row is at fault
    text: Message

    def __post_init__(self) -> None:
        if not isinstance(self.text, Message):  # a plain message id without parameters
            object.__setattr__(self, "text", Message(self.text))

    @classmethod
    def of(cls, row: int, column: str, message: str | Message, /, **params: Any) -> RowError:
        """``RowError.of(3, "level", N_("no level {level}"), level=x)``."""
        text = message if isinstance(message, Message) else _message(message, params)
        return cls(row, column, text)

    @property
    def message(self) -> str:
        """The message in the current language."""
        return str(self.text)

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}

    def to_record(self) -> dict[str, Any]:
        """A JSON-able form kept with a job, rendered later in its reader's language."""
        return {"row": self.row, "column": self.column, "text": self.text.to_record()}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> RowError:
        return cls(record["row"], record["column"], Message.from_record(record["text"]))

    def __str__(self) -> str:
        where = (
            Message(N_("row {row}, column {column}"), row=self.row, column=self.column)
            if self.column
            else Message(N_("row {row}"), row=self.row)
        )
        return f"{where}: {self.message}"


class BatchRejected(CertsvcError):
    """A batch failed validation; nothing in it was issued."""

    code = "batch_rejected"
    http_status = 422
    exit_code = 65

    def __init__(self, errors: list[RowError]) -> None:
        rows = len({e.row for e in errors})
        super().__init__(
            N_(
                "nothing was issued: {problems} in {rows}; fix them and submit the whole file again"
            ),
            problems=plural("{n} problem", "{n} problems", len(errors)),
            rows=plural("{n} row", "{n} rows", rows),
        )
        self.errors = errors

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["rows"] = [e.to_dict() for e in self.errors]
        return d


class NotFound(CertsvcError):
    code = "not_found"
    http_status = 404
    exit_code = 66  # EX_NOINPUT


class Conflict(CertsvcError):
    """The request contradicts what is already stored (a duplicate, a wrong state)."""

    code = "conflict"
    http_status = 409
    exit_code = 65


class BodySuspended(Conflict):
    code = "body_suspended"


class ConcurrentChange(Conflict):
    """The database refused a change because another request changed the same thing at the
    same moment (a unique or foreign-key constraint): nothing was saved; retrying shows why."""

    code = "concurrent_change"


class DatabaseUnavailable(CertsvcError):
    """The database did not answer, or gave up on a lock: nothing was saved; retry later."""

    code = "database_unavailable"
    http_status = 503
    exit_code = 75  # EX_TEMPFAIL


class SigningKeyError(CertsvcError):
    """A signing key is missing, cannot be decrypted, or may not be used."""

    code = "signing_key_error"
    http_status = 500
    exit_code = 77  # EX_NOPERM


class SignatureError(CertsvcError):
    """A JWS did not verify, was malformed, or named an unknown key."""

    code = "signature_error"
    http_status = 400
    exit_code = 1


class MalformedToken(SignatureError):
    code = "malformed"


class UnknownKey(SignatureError):
    code = "unknown_key"


class InvalidSignature(SignatureError):
    code = "invalid_signature"


class PermissionDenied(CertsvcError):
    code = "permission_denied"
    http_status = 403
    exit_code = 77


class Unauthenticated(CertsvcError):
    """No bearer token, or one that is unknown or revoked (HTTP 401 with WWW-Authenticate).

    ``token_id`` names the token when the service knows it (a revoked one), for the audit log.
    """

    code = "unauthenticated"
    http_status = 401
    exit_code = 77

    def __init__(
        self, message: str | Message, /, *, token_id: int | None = None, **params: Any
    ) -> None:
        super().__init__(message, **params)
        self.token_id = token_id


class RegistryUnavailable(CertsvcError):
    """The registry client could not reach the feed, even after retrying with back-off."""

    code = "registry_unavailable"
    http_status = 503
    exit_code = 69  # EX_UNAVAILABLE


class RedirectRefused(CertsvcError):
    """A server redirected a request to another scheme, host or port; it was not followed.

    The request may carry a bearer token, which must go nowhere but the configured service.
    Usually the URL given is an old or wrong address of that service.
    """

    code = "redirect_refused"
    http_status = 502
    exit_code = 78  # EX_CONFIG: give the service's real address


class FeedIntegrityError(CertsvcError):
    """The registry feed broke its contract: a gap in the sequence, a cursor going back."""

    code = "feed_integrity_error"
    http_status = 502
    exit_code = 65


class HistoryRewritten(FeedIntegrityError):
    """The service's transparency log is not an extension of a checkpoint accepted before."""

    code = "history_rewritten"


class StatusListError(CertsvcError):
    """A revocation status list could not be fetched, or did not verify."""

    code = "status_list_error"
    http_status = 502
    exit_code = 69  # EX_UNAVAILABLE


class StatusListConflict(FeedIntegrityError):
    """An issuer's revocation status list contradicts the signed status changes in the feed."""

    code = "status_list_conflict"


class RecordsRejected(CertsvcError):
    """A pull finished, but some records did not verify and were not applied."""

    code = "records_rejected"
    http_status = 422
    exit_code = 65


class InvalidRequest(CertsvcError):
    """A request cannot be read: not a JSON object, a member missing, unknown or mistyped."""

    code = "invalid_request"
    http_status = 400
    exit_code = 64  # EX_USAGE


class InvalidUnicode(InvalidRequest):
    """Text that is not valid Unicode (a lone surrogate such as ``"\\ud800"``)."""

    code = "invalid_unicode"


class RateLimited(CertsvcError):
    """A client sent more requests than its limit allows; it may retry after a pause."""

    code = "rate_limited"
    http_status = 429
    exit_code = 75  # EX_TEMPFAIL

    def __init__(self, message: str | Message, /, retry_after: int, **params: Any) -> None:
        super().__init__(message, **params)
        self.retry_after = retry_after


class FontMissing(ConfigError):
    """The certificate font is not installed (or is not a TrueType font)."""

    code = "font_missing"


class UnrenderableText(InvalidInput):
    """Text to be printed on a certificate has characters the certificate font cannot draw."""

    code = "unrenderable_character"

    def __init__(self, characters: list[str], font: str) -> None:
        listed = ", ".join(f"{c} (U+{ord(c):04X})" for c in characters)
        super().__init__(
            N_(
                "the certificate font {font} has no glyph for {characters}; it would print as "
                "a blank box — check the text, or write the character as the holder's ID "
                "document does"
            ),
            font=font,
            characters=listed,
        )
        self.characters = characters


class InvalidSeal(InvalidInput):
    """An uploaded seal image cannot be used (not PNG/SVG, damaged, or unsupported content)."""

    code = "invalid_seal"


class NoEmbeddedRecord(InvalidInput):
    """A PDF does not carry a certsvc certificate record (or is not a PDF)."""

    code = "no_embedded_record"


class LoginFailed(Unauthenticated):
    """A console log-in with an unknown user name or a wrong password (never says which)."""

    code = "login_failed"


class AccountLocked(RateLimited):
    """Too many failed log-ins for one account: it is locked for a while."""

    code = "account_locked"


class LogRangeError(InvalidInput):
    """A transparency-log request names a position or tree size the log does not have."""

    code = "log_range"


class LogIntegrityError(CertsvcError):
    """The transparency log does not match the event log: a gap, or a rewritten history."""

    code = "log_integrity_error"
    http_status = 500
    exit_code = 65


class CheckpointError(SignatureError):
    """A checkpoint (signed tree head) is malformed, or no trusted log key signed it."""

    code = "invalid_checkpoint"


class JobNotFinished(Conflict):
    """A job's result was asked for before the job succeeded."""

    code = "job_not_finished"


class JobResultExpired(CertsvcError):
    """A job's result was kept for a while and has been deleted since."""

    code = "job_result_expired"
    http_status = 410
    exit_code = 66


class JobFailed(CertsvcError):
    """A job that was waited for ended in failure (its own error says why)."""

    code = "job_failed"
    http_status = 409
    exit_code = 1
