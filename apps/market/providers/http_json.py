"""What the keyless JSON sources share: one httpx client, errors mapped to the interface's,
JSON numbers read straight into Decimal (never through float), and the batch's deadline: no
request is sent that could outlive it."""

from __future__ import annotations

import json
import logging
import math
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from apps.market.providers.base import OutOfTime, RateLimited, SourceUnavailable
from apps.market.providers.deadline import deadline_current


class JsonSource:
    """GETs against one base URL: 429 -> RateLimited, anything else wrong -> SourceUnavailable."""

    def __init__(
        self,
        *,
        name: str,
        base_url: str,
        purpose: str,
        transport: httpx.BaseTransport | None,
        timeout: float,
        logger: logging.Logger,
    ) -> None:
        self.name = name
        self.log = logger
        self.timeout = timeout
        self.client = httpx.Client(
            base_url=base_url,
            transport=transport,
            timeout=timeout,
            headers={
                "User-Agent": f"portfolio-realtime/0.1 ({purpose}; httpx/{httpx.__version__})",
                "Accept": "application/json",
            },
        )

    def get(self, path: str, params: dict[str, str]) -> httpx.Response:
        """The response of any status but 429; a transport failure raises SourceUnavailable.

        Raises OutOfTime, sending nothing, when the request could outlive the batch's deadline.
        """
        deadline = deadline_current()
        if deadline is not None and not deadline.allows(self.timeout):
            raise OutOfTime(
                self.name,
                f"GET {path} not sent: {deadline.remaining():.1f} s left before the batch's "
                f"deadline, and a request may take {self.timeout:g} s",
            )
        try:
            response = self.client.get(path, params=params)
        except httpx.HTTPError as exc:
            raise self.unavailable(f"GET {path} failed: {exc!r}") from exc
        if response.status_code == httpx.codes.TOO_MANY_REQUESTS:
            retry_after = retry_after_seconds(response)
            self.log.warning("rate limited on %s, retry after %s s", path, retry_after)
            raise RateLimited(self.name, f"HTTP 429 on {path}", retry_after=retry_after)
        return response

    def payload(self, response: httpx.Response) -> Any:
        """The JSON body of a 200 answer."""
        path = response.request.url.path
        if response.status_code != httpx.codes.OK:
            raise self.unavailable(f"HTTP {response.status_code} on {path}")
        try:
            return json.loads(response.text, parse_float=Decimal, parse_constant=Decimal)
        except ValueError as exc:
            raise self.unavailable(f"{path} answered a body that is not JSON") from exc

    def get_json(self, path: str, params: dict[str, str]) -> Any:
        return self.payload(self.get(path, params))

    def unavailable(self, message: str) -> SourceUnavailable:
        self.log.warning("%s", message)
        return SourceUnavailable(self.name, message)

    def close(self) -> None:
        self.client.close()


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Retry-After as seconds: the header is either a number of seconds or an HTTP date."""
    raw = response.headers.get("Retry-After")
    if raw is None:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def finite_decimal(value: Any) -> Decimal | None:
    """A finite JSON number (never a bool, a string or NaN)."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return None
    number = Decimal(value)
    return number if number.is_finite() else None


def positive_decimal(value: Any) -> Decimal | None:
    """A usable price or rate: a finite JSON number above zero."""
    number = finite_decimal(value)
    return number if number is not None and number > 0 else None
