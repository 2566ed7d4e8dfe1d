"""The one door every AWS call of the collector goes through.

Clients come from one boto3 session (the profile and region of ``auditor.yaml``, else the
default credential chain; ``AWS_ENDPOINT_URL`` is honoured by botocore itself) with short
timeouts and the retry settings the user chose (``AWS_RETRY_MODE``/``AWS_MAX_ATTEMPTS`` or
the profile's ``retry_mode``/``max_attempts``), else the ``standard`` mode with three
attempts in all. They are all created up front, on the calling
thread, because a session is not thread-safe while its clients are. A call that fails for
good (after botocore's retries) raises :class:`CallFailed`, whose text is the one-line
reason a kind is unavailable: the service, the API operation and the error code. A "not
found" answer is no failure: the resource is simply not there.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import boto3
import botocore.session
from botocore.config import Config as BotoConfig
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from auditor.live.base import LiveCollected
from auditor.models import Resource

# Describe calls answer in well under a second; a stuck endpoint should cost seconds, not
# minutes (each attempt may take this long, and standard mode makes three).
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 15.0
MAX_ATTEMPTS = 3
# Calls made one object at a time run this many at once: within API rate limits (the
# standard retry mode backs off when throttled), and far fewer round trips in a row.
PER_OBJECT = 8
MAX_PAGES = 100  # of one batch of names: far more than it can hold
T = TypeVar("T")
R = TypeVar("R")
_NO_CREDENTIALS = ("no AWS credentials found (NoCredentialsError): set AWS_PROFILE or "
                   "aws.profile in auditor.yaml, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or "
                   "run with an instance or pod role")


class CallFailed(Exception):
    """An AWS call that failed for good; ``str()`` is the reason, in one line."""


class Api:
    """Clients for ``services`` and the calls made through them."""

    def __init__(self, profile: str | None, region: str | None, services: Iterable[str]):
        try:
            core = botocore.session.Session()
            session = boto3.Session(botocore_session=core, profile_name=profile,
                                    region_name=region)
            if session.get_credentials() is None:
                raise CallFailed(_NO_CREDENTIALS)
            retries, self.attempts = _retries(core)
            config = BotoConfig(retries=retries,
                                connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT,
                                user_agent_extra="runbook-auditor")
            self._clients = {s: session.client(s, config=config) for s in services}
        except (BotoCoreError, ClientError) as exc:  # unknown profile, no region, an
            # expired SSO token, a role that cannot be assumed, a retry mode botocore lacks
            raise CallFailed(f"cannot set up AWS access ({type(exc).__name__}): "
                             f"{_one_line(str(exc))}") from None
        self.region: str = session.region_name or ""
        self.source = f"aws {self.region}"

    def call(self, service: str, operation: str, missing: tuple[str, ...] = (),
             **params: Any) -> dict[str, Any] | None:
        """The response of one call, or None when its error code is one of ``missing``."""
        client = self._clients[service]
        try:
            response: dict[str, Any] = getattr(client, operation)(**params)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in missing:
                return None
            raise CallFailed(_client_error(client, operation, exc)) from None
        except BotoCoreError as exc:
            raise CallFailed(_transport_error(client, operation, exc, self.attempts)) from None
        return response

    def pages(self, service: str, operation: str, key: str, missing: tuple[str, ...] = (),
              **params: Any) -> list[Any]:
        """Every item under ``key`` across the pages of a paginated call; none when its
        error code is one of ``missing``."""
        client = self._clients[service]
        items: list[Any] = []
        try:
            for page in client.get_paginator(operation).paginate(**params):
                items.extend(page.get(key) or [])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in missing:
                return []
            raise CallFailed(_client_error(client, operation, exc)) from None
        except BotoCoreError as exc:
            raise CallFailed(_transport_error(client, operation, exc, self.attempts)) from None
        return items

    def batched(self, service: str, operation: str, key: str, not_found: str,
                param: str, names: Sequence[str], size: int) -> list[dict[str, Any]]:
        """The items under ``key`` for ``names``, ``size`` of them in ``param`` per call
        (NextToken pages followed). A call that fails because one of its names does not exist
        (``not_found``) is made again one name per call, PER_OBJECT at a time: only that
        batch pays for the unknown name."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(names), size):
            batch = list(names[start:start + size])
            items = self._named(service, operation, key, not_found, {param: batch})
            if items is None and len(batch) > 1:
                singles = self.each(lambda name: self._named(
                    service, operation, key, not_found, {param: [name]}), batch)
                items = [item for one in singles for item in one or []]
            found += items or []
        return found

    def _named(self, service: str, operation: str, key: str, not_found: str,
               params: dict[str, Any]) -> list[dict[str, Any]] | None:
        items: list[dict[str, Any]] = []
        token: dict[str, str] = {}
        for _ in range(MAX_PAGES):
            response = self.call(service, operation, missing=(not_found,), **params, **token)
            if response is None:
                return None
            items += response.get(key) or []
            if not response.get("NextToken") or response["NextToken"] == token.get(
                    "NextToken"):
                break
            token = {"NextToken": response["NextToken"]}
        return items

    def resource(self, kind: str, name: str, body: dict[str, Any]) -> Resource:
        return Resource(kind=kind, name=name, body=body, source=self.source)

    def each(self, task: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """``task`` of each item, PER_OBJECT at a time (calls the API takes one object
        per request: target health, a group's parameters), in the order of ``items``;
        the first failure is raised once the others have ended."""
        if len(items) <= 1:
            return [task(item) for item in items]
        with ThreadPoolExecutor(min(PER_OBJECT, len(items)),
                                thread_name_prefix="aws-each") as pool:
            return list(pool.map(task, items))


def read(out: LiveCollected, kinds: tuple[str, ...],
         fetch: Callable[[], list[Resource]]) -> list[Resource]:
    """Run ``fetch``: its resources join ``out``; if a call fails, ``kinds`` become
    unavailable with the reason (nothing half-read is kept: it could pass a check)."""
    try:
        found = fetch()
    except CallFailed as exc:
        out.unavailable.update({kind: str(exc) for kind in kinds})
        return []
    out.resources.extend(found)
    return found


def unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _label(client: Any, operation: str) -> str:
    api_name = client.meta.method_to_api_mapping.get(operation, operation)
    return f"{client.meta.service_model.service_name} {api_name}"


def _client_error(client: Any, operation: str, exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    meta = exc.response.get("ResponseMetadata", {})
    status = meta.get("HTTPStatusCode")
    attempts = int(meta.get("RetryAttempts") or 0) + 1
    code = error.get("Code") or "error"
    detail = f"HTTP {status}" if status else "no status"
    if attempts > 1:
        detail += f", after {attempts} attempts"
    message = _one_line(str(error.get("Message") or ""))
    return f"{_label(client, operation)}: {code} ({detail})" + (f": {message}" if message
                                                                   else "")


def _retries(core: botocore.session.Session) -> tuple[dict[str, Any], int]:
    """The ``retries`` client setting: what the user set is left to botocore (which reads
    it from the environment and the profile), the rest is ours (standard mode, three
    attempts in all); and how many attempts a failed call has had."""
    scoped = core.get_scoped_config()
    retries: dict[str, Any] = {}
    if not (os.environ.get("AWS_RETRY_MODE") or scoped.get("retry_mode")):
        retries["mode"] = "standard"
    if not (os.environ.get("AWS_MAX_ATTEMPTS") or scoped.get("max_attempts")):
        retries["total_max_attempts"] = MAX_ATTEMPTS  # counts the first try, as the user's
        return retries, MAX_ATTEMPTS
    try:
        return retries, int(core.get_config_variable("max_attempts"))
    except (TypeError, ValueError):
        raise CallFailed("cannot set up AWS access: max_attempts (AWS_MAX_ATTEMPTS or the "
                         "profile's max_attempts) is not a number") from None


def _transport_error(client: Any, operation: str, exc: BotoCoreError, attempts: int) -> str:
    if isinstance(exc, NoCredentialsError):
        return f"{_label(client, operation)}: {_NO_CREDENTIALS}"
    # Timeouts and refused or dropped connections are retried: they failed every attempt.
    retried = isinstance(exc, BotoConnectionError | HTTPClientError)
    return (f"{_label(client, operation)}: {type(exc).__name__}"
            + (f" after {attempts} attempts" if retried and attempts > 1 else "")
            + f": {_one_line(str(exc))}")


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 3] + "..."
