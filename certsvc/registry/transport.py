"""HTTP for the registry client: the feed, JWKS and transparency endpoints, with retries.

Network errors, 5xx, 429 and pages cut short are retried with exponential back-off and jitter;
redirects are followed only within the same origin, so the bearer token never leaves it.
"""

from __future__ import annotations

import base64
import binascii
import http.client
import ipaddress
import json
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from certsvc.errors import (
    FeedIntegrityError,
    InvalidInput,
    PermissionDenied,
    RedirectRefused,
    RegistryUnavailable,
    Unauthenticated,
)
from certsvc.i18n import N_

__all__ = ["FeedClient", "HttpResponse", "RetryPolicy", "Transport", "UrllibTransport"]

FEED_PATH = "/api/v1/registry/changes"
JWKS_PATH = "/.well-known/jwks.json"
TRANSPARENCY_PATH = "/.well-known/transparency.json"
CONSISTENCY_PATH = "/api/v1/transparency/consistency"
STATUS_LIST_PREFIX = "/status/"
PHOTO_PREFIX = "/api/v1/registry/photos/"


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes


class Transport(Protocol):
    """Something that performs a GET; raises OSError or http.client.HTTPException on failure."""

    def get(self, url: str, headers: Mapping[str, str], timeout: float) -> HttpResponse: ...


def _origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port of ``url``, with the scheme's default port filled in."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:  # a port that is not a number: no origin matches it
        port = -1
    default = {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port if port is not None else default


class _SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to the same scheme, host and port.

    urllib's own handler copies every header of the request, the bearer token included, to
    wherever a redirect points — another host, or from https to plain http. The service never
    needs to send the client elsewhere, so such a redirect is refused, not followed.
    """

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        if _origin(newurl) != _origin(req.full_url):
            fp.close()
            raise RedirectRefused(
                N_(
                    "{full_url} answered HTTP {code} with a redirect to {newurl}, another "
                    "scheme, host or port; it was not followed, so no token went there. If that "
                    "is the service's real address, pass it as --url"
                ),
                full_url=req.full_url,
                code=code,
                newurl=newurl,
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class UrllibTransport:
    """The standard library's HTTP client (honours the usual proxy variables).

    Redirects are followed only within the same origin (:class:`_SameOriginRedirects`).
    """

    def __init__(self) -> None:
        self._opener = urllib.request.build_opener(_SameOriginRedirects)

    def get(self, url: str, headers: Mapping[str, str], timeout: float) -> HttpResponse:
        request = urllib.request.Request(url, headers=dict(headers), method="GET")  # noqa: S310
        try:
            with self._opener.open(request, timeout=timeout) as response:
                body = response.read()
                names = {k.lower(): v for k, v in response.headers.items()}
                return HttpResponse(response.status, names, body)
        except urllib.error.HTTPError as exc:  # any status but 2xx, including 304
            body = exc.read()
            names = {k.lower(): v for k, v in exc.headers.items()}
            return HttpResponse(exc.code, names, body)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off with full jitter: 0.25 s, 0.5 s, 1 s … capped, ``attempts`` tries."""

    attempts: int = 10
    base: float = 0.25
    cap: float = 8.0
    timeout: float = 60.0
    sleep: Callable[[float], None] = time.sleep

    def delay(self, attempt: int) -> float:
        ceiling = min(self.cap, self.base * 2.0 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not crypto


class _Retry(Exception):
    """A response worth asking for again (5xx, 429, a page cut short)."""

    def __init__(self, problem: str, wait: float | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.wait = wait


def _error_message(response: HttpResponse) -> str:
    try:
        error = json.loads(response.body)["error"]
        return f"{error['message']} ({error['code']})"
    except (ValueError, KeyError, TypeError):
        return response.body[:200].decode(errors="replace")


def _is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine: ``localhost`` or a loopback address."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class FeedClient:
    """The HTTP side: pages of the feed and the JWKS, with retries.

    ``base_url`` must be https, or plain http to this machine only.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        transport: Transport | None = None,
        policy: RetryPolicy | None = None,
        on_retry: Callable[[str, float], None] | None = None,
    ) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidInput(
                N_("--url must be the service's http(s) base URL, not {base_url!r}"),
                base_url=base_url,
            )
        if parts.scheme == "http" and not _is_loopback(parts.hostname or ""):
            raise InvalidInput(
                N_(
                    "--url {base_url} is plain http: the token and the feed's ID numbers would "
                    "cross the network in clear. Use the service's https:// URL (plain http is "
                    "accepted only for localhost, 127.0.0.1 and ::1)"
                ),
                base_url=base_url,
            )
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._transport = transport or UrllibTransport()
        self._policy = policy or RetryPolicy()
        self._on_retry = on_retry
        self.retries = 0

    def _get(
        self, path: str, headers: Mapping[str, str], parse: Callable[[HttpResponse], Any]
    ) -> Any:
        url = self.base_url + path
        for attempt in range(1, self._policy.attempts + 1):
            wait = None
            try:
                response = self._transport.get(url, headers, self._policy.timeout)
                if response.status >= 500 or response.status == 429:
                    retry_after = response.headers.get("retry-after", "")
                    wait = (
                        float(retry_after)
                        if retry_after.isascii() and retry_after.isdigit()
                        else None
                    )
                    raise _Retry(f"HTTP {response.status} {_error_message(response)}", wait)
                self._raise_for_client_error(response)
                return parse(response)
            except _Retry as exc:
                problem, wait = exc.problem, exc.wait
            except (OSError, http.client.HTTPException) as exc:
                problem = f"{type(exc).__name__}: {exc}"
            if attempt == self._policy.attempts:
                raise RegistryUnavailable(
                    N_(
                        "{url} failed {attempt} times, last: {problem}; the mirror keeps "
                        "everything "
                        "applied so far — run the pull again later"
                    ),
                    url=url,
                    attempt=attempt,
                    problem=problem,
                )
            delay = wait if wait is not None else self._policy.delay(attempt)
            self.retries += 1
            if self._on_retry is not None:
                self._on_retry(problem, delay)
            self._policy.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _raise_for_client_error(response: HttpResponse) -> None:
        if response.status in (200, 304):
            return
        message = _error_message(response)
        if response.status == 401:
            raise Unauthenticated(N_("the service refused the token: {message}"), message=message)
        if response.status == 403:
            raise PermissionDenied(
                N_("the token may not read the feed: {message}"), message=message
            )
        raise InvalidInput(
            N_("the service answered HTTP {status}: {message}"),
            status=response.status,
            message=message,
        )

    def page(self, after: int, limit: int) -> dict[str, Any]:
        """One page of the feed (a page cut short is retried, never returned)."""
        query = urllib.parse.urlencode({"after": after, "limit": limit})
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}

        def parse(response: HttpResponse) -> dict[str, Any]:
            try:
                page = json.loads(response.body)
            except ValueError as exc:
                raise _Retry(f"the page was cut short or garbled ({exc})") from exc
            if not (
                isinstance(page, dict)
                and isinstance(page.get("events"), list)
                and isinstance(page.get("next"), int)
                and page.get("count") == len(page["events"])
            ):
                raise _Retry("the page is incomplete (no events/count/next)")
            return page

        result: dict[str, Any] = self._get(f"{FEED_PATH}?{query}", headers, parse)
        return result

    def jwks(self, etag: str = "") -> tuple[dict[str, Any] | None, str]:
        """The JWKS document and its ETag; ``(None, etag)`` when unchanged since ``etag``."""
        headers = {"Accept": "application/jwk-set+json, application/json"}
        if etag:
            headers["If-None-Match"] = etag

        def parse(response: HttpResponse) -> tuple[dict[str, Any] | None, str]:
            if response.status == 304:
                return None, etag
            try:
                document = json.loads(response.body)
            except ValueError as exc:
                raise _Retry(f"the JWKS was cut short or garbled ({exc})") from exc
            return document, response.headers.get("etag", "")

        result: tuple[dict[str, Any] | None, str] = self._get(JWKS_PATH, headers, parse)
        return result

    def _json(self, path: str, what: str) -> Any:
        def parse(response: HttpResponse) -> Any:
            try:
                return json.loads(response.body)
            except ValueError as exc:
                raise _Retry(f"{what} was cut short or garbled ({exc})") from exc

        return self._get(path, {"Accept": "application/json"}, parse)

    def status_list(self, list_url: str) -> str:
        """The status list credential (a vc+jwt) a record names, from this service.

        Fetched from the service's own origin (``--url``) at the path the record names, with
        no token: a list is public, and a record cannot send the client elsewhere.
        """
        path = urllib.parse.urlsplit(list_url).path
        if not path.startswith(STATUS_LIST_PREFIX) or ".." in path:
            raise FeedIntegrityError(
                N_("{list_url} is not a status list of this service"), list_url=list_url
            )

        def parse(response: HttpResponse) -> str:
            try:
                return response.body.decode("ascii").strip()
            except UnicodeDecodeError as exc:
                raise _Retry(f"the status list {path} was garbled ({exc})") from exc

        result: str = self._get(path, {"Accept": "application/vc+jwt"}, parse)
        return result

    def photo(self, sha256: str) -> bytes:
        """The holder photo the service stores under ``sha256`` (bearer token, as the feed);
        the caller checks the bytes against the digest the record signs."""
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "image/jpeg"}
        result: bytes = self._get(f"{PHOTO_PREFIX}{sha256}", headers, lambda r: r.body)
        return result

    def transparency(self) -> dict[str, Any]:
        """The transparency log's public document: origin and log keys."""
        document = self._json(TRANSPARENCY_PATH, "the transparency document")
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise FeedIntegrityError(
                N_("{base_url}{transparency_path} lists no log keys"),
                base_url=self.base_url,
                transparency_path=TRANSPARENCY_PATH,
            )
        return document

    def consistency(self, old: int, new: int) -> list[bytes]:
        """The proof that the log's tree of ``new`` events extends its tree of ``old``."""
        query = urllib.parse.urlencode({"old": old, "new": new})
        answer = self._json(f"{CONSISTENCY_PATH}?{query}", "the consistency proof")
        proof = answer.get("proof") if isinstance(answer, dict) else None
        if not isinstance(proof, list) or not all(isinstance(p, str) for p in proof):
            raise FeedIntegrityError(
                N_("the consistency proof from {old} to {new} is malformed"), old=old, new=new
            )
        try:
            return [base64.b64decode(p, validate=True) for p in proof]
        except (binascii.Error, ValueError):
            raise FeedIntegrityError(
                N_("the consistency proof from {old} to {new} is not base64"), old=old, new=new
            ) from None
