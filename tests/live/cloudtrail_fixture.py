"""A local CloudTrail that answers LookupEvents, which moto does not implement.

It speaks AWS's own JSON 1.1 protocol (``X-Amz-Target:
com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents``, epoch-second
timestamps, ``{"__type", "message"}`` errors), so an unmodified boto3 ``cloudtrail`` client
pointed at it (``endpoint_url=server.url`` or ``AWS_ENDPOINT_URL_CLOUDTRAIL``), paginator
included, meets the same answers and the same errors it would meet in AWS: one lookup
attribute at most, 50 events a page at most, newest first, a NextToken valid only for the
query that issued it, ThrottlingException beyond the 2 requests a second AWS allows.

Tests fill ``server.events`` with ``event(...)`` (events as LookupEvents returns them) and
set the switches (``rate_limit``, ``throttle_next``, ``deny``, ``latency``,
``page_size_cap``); ``server.requests`` records what the client did. Nothing is random:
event ids, access keys, request ids and page tokens derive from what the test gave.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, NamedTuple

import pytest

__all__ = [
    "EVENT_SOURCES",
    "TARGET",
    "CloudTrailError",
    "CloudTrailServer",
    "Recorded",
    "cloudtrail_server",
    "event",
]

TARGET = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"
JSON_11 = "application/x-amz-json-1.1"

# The services of the changes the auditor looks up; other names need ``event_source=``.
EVENT_SOURCES = {
    "AuthorizeSecurityGroupIngress": "ec2.amazonaws.com",
    "RevokeSecurityGroupIngress": "ec2.amazonaws.com",
    "AuthorizeSecurityGroupEgress": "ec2.amazonaws.com",
    "RevokeSecurityGroupEgress": "ec2.amazonaws.com",
    "ModifySecurityGroupRules": "ec2.amazonaws.com",
    "ModifyDBParameterGroup": "rds.amazonaws.com",
    "ResetDBParameterGroup": "rds.amazonaws.com",
    "UpdateNodegroupConfig": "eks.amazonaws.com",
    "ModifyTargetGroup": "elasticloadbalancing.amazonaws.com",
}

# Every LookupAttributeKey of the service model, and the Event field each one matches.
LOOKUP_KEYS = ("EventId", "EventName", "ReadOnly", "Username", "ResourceType",
               "ResourceName", "AccessKeyId", "EventSource")
MAX_RESULTS = 50  # LookupEvents' default and maximum page
# rate_limit's window is 1 s less this: a client pacing itself at exactly the limit (calls
# 0.5 s apart for 2 a second) must not be throttled because one request met more delay on
# the way than the one before it.
SLACK = 0.02
_IDS = uuid.UUID("6f1c2d7e-3b8a-4c55-9e0f-1a2b3c4d5e6f")  # namespace of derived ids


# ---- events as LookupEvents returns them --------------------------------------------------

def event(name: str, at: datetime, *, actor_arn: str, request_parameters: Mapping[str, Any],
          session_name: str | None = None, user_type: str = "AssumedRole",
          event_source: str | None = None,
          resources: Iterable[tuple[str, str] | Mapping[str, str]] | None = None,
          read_only: bool = False, event_id: str | None = None,
          access_key_id: str | None = None, region: str = "us-east-1",
          response_elements: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One element of LookupEvents' ``Events``, with its ``CloudTrailEvent`` record.

    ``actor_arn`` is, for ``user_type="AssumedRole"``, the session's ARN
    (``arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION``) or the role's
    (``arn:aws:iam::ACCOUNT:role/ROLE``, then ``session_name`` is required); for
    ``"IAMUser"`` the user's (``arn:aws:iam::ACCOUNT:user/NAME``). ``Username`` is then the
    session name or the user name, as in AWS. ``at`` must be timezone-aware: a naive time
    would silently mean local time to the server and UTC to the record. Ids not given are
    derived from the event's content (uuid5), never drawn at random, so two runs build the
    same events; pass ``event_id`` to tell apart two otherwise identical events.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"event time {at!r} must be timezone-aware")
    source = event_source or EVENT_SOURCES.get(name)
    if source is None:
        raise ValueError(f"no event source known for {name!r}: pass event_source=")
    identity, username = _user_identity(user_type, actor_arn, session_name)
    when = at.astimezone(UTC)
    seconds = when.timestamp()
    epoch: int | float = int(seconds) if seconds == int(seconds) else seconds
    iso = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    listed = [dict(r) if isinstance(r, Mapping) else {"ResourceType": r[0], "ResourceName": r[1]}
              for r in resources or ()]
    seed = json.dumps([name, iso, identity["arn"], request_parameters, source, region,
                       read_only, listed, response_elements], sort_keys=True, default=str)
    event_id = event_id or str(uuid.uuid5(_IDS, "event:" + seed))
    key = access_key_id or _access_key(user_type, identity["arn"])
    identity["accessKeyId"] = key
    if "sessionContext" in identity:
        identity["sessionContext"]["attributes"]["creationDate"] = iso
    record = {
        "eventVersion": "1.08",
        "userIdentity": identity,
        "eventTime": iso,
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": "203.0.113.10",  # TEST-NET-3: an address no one owns
        "userAgent": "Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux lang/python#3.11",
        "requestParameters": dict(request_parameters),
        "responseElements": None if response_elements is None else dict(response_elements),
        "requestID": str(uuid.uuid5(_IDS, "request:" + event_id)),
        "eventID": event_id,
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": identity["accountId"],
        "eventCategory": "Management",
    }
    return {
        "EventId": event_id,
        "EventName": name,
        "ReadOnly": "true" if read_only else "false",
        "AccessKeyId": key,
        "EventTime": epoch,
        "EventSource": source,
        "Username": username,
        "Resources": listed,
        "CloudTrailEvent": json.dumps(record),
    }


def _user_identity(user_type: str, actor_arn: str,
                   session_name: str | None) -> tuple[dict[str, Any], str]:
    """CloudTrail's ``userIdentity`` for the actor, and the Username LookupEvents shows."""
    parts = actor_arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[4].isdigit():
        raise ValueError(f"not an IAM or STS ARN: {actor_arn!r}")
    partition, account, resource = parts[1], parts[4], parts[5]
    if user_type == "IAMUser":
        if parts[2] != "iam" or not resource.startswith("user/"):
            raise ValueError(f"an IAMUser's ARN is arn:aws:iam::ACCOUNT:user/NAME: {actor_arn!r}")
        name = resource.rsplit("/", 1)[1]
        return ({"type": "IAMUser", "principalId": _principal("AIDA", actor_arn),
                 "arn": actor_arn, "accountId": account, "userName": name}, name)
    if user_type != "AssumedRole":
        raise ValueError(f"user_type must be AssumedRole or IAMUser, not {user_type!r}")
    if parts[2] == "sts" and resource.startswith("assumed-role/") and resource.count("/") == 2:
        _, role, session = resource.split("/")
        if session_name not in (None, session):
            raise ValueError(f"session_name {session_name!r} contradicts {actor_arn!r}")
        role_arn = f"arn:{partition}:iam::{account}:role/{role}"
    elif parts[2] == "iam" and resource.startswith("role/"):
        if not session_name:
            raise ValueError(f"a role ARN needs session_name: {actor_arn!r}")
        role, session, role_arn = resource.rsplit("/", 1)[1], session_name, actor_arn
    else:
        raise ValueError(f"an AssumedRole's ARN is an assumed-role or role ARN: {actor_arn!r}")
    arn = f"arn:{partition}:sts::{account}:assumed-role/{role}/{session}"
    return ({"type": "AssumedRole", "principalId": f"{_principal('AROA', role_arn)}:{session}",
             "arn": arn, "accountId": account,
             "sessionContext": {
                 "sessionIssuer": {"type": "Role", "principalId": _principal("AROA", role_arn),
                                   "arn": role_arn, "accountId": account, "userName": role},
                 "attributes": {"creationDate": "", "mfaAuthenticated": "false"}}},
            session)


def _principal(prefix: str, arn: str) -> str:
    """An IAM unique id (AIDA…, AROA…) that is the same for the same ARN."""
    return prefix + base64.b32encode(hashlib.sha256(arn.encode()).digest()).decode()[:17]


def _access_key(user_type: str, arn: str) -> str:
    """A long-term key (AKIA…) for a user, a temporary one (ASIA…) for a session."""
    prefix = "AKIA" if user_type == "IAMUser" else "ASIA"
    return prefix + base64.b32encode(hashlib.sha256(b"key:" + arn.encode()).digest()).decode()[:16]


# ---- the server ---------------------------------------------------------------------------

class Recorded(NamedTuple):
    """One request as the server saw it: when it arrived (``time.monotonic()``), its JSON
    body, the HTTP status answered and the error code (None when it succeeded)."""

    at: float
    body: dict[str, Any]
    status: int
    error: str | None


class CloudTrailError(Exception):
    """An error LookupEvents answers, by its AWS code (the body's ``__type``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class CloudTrailServer:
    """LookupEvents over real HTTP on 127.0.0.1 at a free port, started on creation.

    Switches, read at each request:
    ``rate_limit``: requests a second answered (AWS: 2); one more within any 1 s window
    (less SLACK) gets ThrottlingException. Only answered requests count, as with AWS's token
    bucket, so a client that backs off gets through. None: no limit.
    ``throttle_next``: answer the next N requests with ThrottlingException, whatever else.
    ``deny``: answer every request with AccessDeniedException (``caller_arn`` not authorized).
    ``latency``: seconds to wait before each answer.
    ``page_size_cap``: at most this many events a page, below MaxResults, to paginate.
    Checked in that order: a throttled request is never denied nor rate-counted.
    ``upstream``: where the other CloudTrail operations go (moto, which has DescribeTrails
    and GetTrailStatus), sent on as they came; None: they are UnknownOperationException.
    """

    caller_arn = "arn:aws:iam::123456789012:user/auditor"

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.requests: list[Recorded] = []
        self.rate_limit: int | None = None
        self.throttle_next = 0
        self.deny = False
        self.latency = 0.0
        self.page_size_cap: int | None = None
        self.upstream: str | None = None
        self._lock = threading.Lock()
        self._answered: list[float] = []  # arrival times of answered requests, for rate_limit
        self._tokens: dict[str, tuple[str, int]] = {}  # NextToken -> (query, offset)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as botocore's pool expects
            disable_nagle_algorithm = True  # else headers and body wait on a delayed ACK (40 ms)

            def do_POST(self) -> None:  # the http.server API
                outer._handle(self)

            def log_message(self, *args: Any) -> None:
                pass  # no line per request in the test report

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        # A short poll: stop() waits for the loop's next poll, once per test.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()
        self._stopped = False

    def stop(self) -> None:
        if not self._stopped:
            self._stopped = True
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> CloudTrailServer:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def calls(self, error: str | None = None) -> list[Recorded]:
        """The requests answered with ``error`` (a code), or the successful ones."""
        return [r for r in self.requests if r.error == error]

    # -- one request

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        arrived = time.monotonic()
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            parsed = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            parsed = None
        body: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
        if self.upstream and handler.headers.get("X-Amz-Target", "") != TARGET:
            self._forward(handler, raw)
            return
        with self._lock:  # one request at a time decides, and is recorded, in arrival order
            try:
                if not isinstance(parsed, dict):
                    raise CloudTrailError("SerializationException",
                                          "The request body is not a JSON object.")
                status, payload, error = 200, self._answer(handler, body, arrived), None
            except CloudTrailError as exc:
                status, error = 400, exc.code
                payload = {"__type": exc.code, "message": exc.message}
            self.requests.append(Recorded(arrived, body, status, error))
            number = len(self.requests)
        if self.latency:
            time.sleep(self.latency)
        data = json.dumps(payload).encode()
        handler.send_response(status)
        headers = {"Content-Type": JSON_11, "Content-Length": str(len(data)),
                   "x-amzn-RequestId": str(uuid.UUID(int=number))}
        if error:
            headers["x-amzn-ErrorType"] = error
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _forward(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        """Another operation, answered by ``upstream`` (headers kept: its signature too)."""
        request = urllib.request.Request(f"{self.upstream}{handler.path}", data=raw,
                                         method="POST", headers=dict(handler.headers))
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, data, kind = response.status, response.read(), response.headers
        except urllib.error.HTTPError as exc:
            status, data, kind = exc.code, exc.read(), exc.headers
        handler.send_response(status)
        handler.send_header("Content-Type", kind.get("Content-Type", JSON_11))
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _answer(self, handler: BaseHTTPRequestHandler, body: dict[str, Any],
                arrived: float) -> dict[str, Any]:
        """LookupEvents' response body, or a CloudTrailError (called with the lock held)."""
        target = handler.headers.get("X-Amz-Target", "")
        if target != TARGET:
            raise CloudTrailError("UnknownOperationException",
                                  f"This fake answers only LookupEvents, not {target!r}")
        if not handler.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256 "):
            raise CloudTrailError("MissingAuthenticationTokenException",
                                  "Missing Authentication Token")
        if self.throttle_next > 0:
            self.throttle_next -= 1
            raise CloudTrailError("ThrottlingException", "Rate exceeded")
        if self.rate_limit is not None:
            self._answered = [t for t in self._answered if arrived - t < 1.0 - SLACK]
            if len(self._answered) >= self.rate_limit:
                raise CloudTrailError("ThrottlingException", "Rate exceeded")
            self._answered.append(arrived)
        if self.deny:
            raise CloudTrailError(
                "AccessDeniedException",
                f"User: {self.caller_arn} is not authorized to perform: cloudtrail:LookupEvents"
                " because no identity-based policy allows the cloudtrail:LookupEvents action")
        return self._lookup(body)

    def _lookup(self, body: dict[str, Any]) -> dict[str, Any]:
        attributes = body.get("LookupAttributes") or []
        if not isinstance(attributes, list) or len(attributes) > 1:
            raise CloudTrailError("InvalidLookupAttributesException",
                                  "You cannot specify more than one lookup attribute.")
        match: tuple[str, str] | None = None
        for attribute in attributes:
            key = attribute.get("AttributeKey") if isinstance(attribute, dict) else None
            value = attribute.get("AttributeValue") if isinstance(attribute, dict) else None
            if key not in LOOKUP_KEYS or not isinstance(value, str) or not 1 <= len(value) <= 2000:
                raise CloudTrailError("InvalidLookupAttributesException",
                                      f"Invalid lookup attribute: {attribute!r}")
            match = (key, value)
        start, end = _time(body, "StartTime"), _time(body, "EndTime")
        if start is not None and end is not None and start > end:
            raise CloudTrailError("InvalidTimeRangeException",
                                  "Start time must be before or equal to end time.")
        category = body.get("EventCategory")
        if category not in (None, "insight"):
            raise CloudTrailError("InvalidEventCategoryException",
                                  f"Invalid event category: {category!r}")
        limit = body.get("MaxResults", MAX_RESULTS)
        if type(limit) is not int or not 1 <= limit <= MAX_RESULTS:
            raise CloudTrailError("InvalidMaxResultsException",
                                  f"MaxResults must be between 1 and {MAX_RESULTS}: {limit!r}")
        if self.page_size_cap is not None:
            limit = max(1, min(limit, self.page_size_cap))
        query = json.dumps([match, start, end, category])
        offset = 0
        if "NextToken" in body:
            token = body["NextToken"]
            issued = self._tokens.get(token) if isinstance(token, str) else None
            if issued is None or issued[0] != query:
                raise CloudTrailError("InvalidNextTokenException", "Invalid NextToken.")
            offset = issued[1]
        found = [] if category == "insight" else [  # no Insights events are modelled
            e for e in self.events
            if (start is None or e["EventTime"] >= start) and (end is None or e["EventTime"] <= end)
            and (match is None or _matches(e, *match))]
        # Newest first; among simultaneous events, the one added later first.
        newest = [e for _, e in sorted(enumerate(found), key=lambda p: (p[1]["EventTime"], p[0]),
                                       reverse=True)]
        page: dict[str, Any] = {"Events": newest[offset:offset + limit]}
        if offset + limit < len(newest):
            token = _token(query, offset + limit)
            self._tokens[token] = (query, offset + limit)
            page["NextToken"] = token
        return page


def _time(body: dict[str, Any], field: str) -> float | None:
    """An epoch-seconds timestamp of the request (botocore sends a JSON number)."""
    value = body.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CloudTrailError("InvalidTimeRangeException", f"{field} is not a timestamp: {value!r}")
    return float(value)


def _matches(item: dict[str, Any], key: str, value: str) -> bool:
    """Exact, case-sensitive matching, as LookupEvents does (no substrings, no patterns)."""
    if key in ("ResourceType", "ResourceName"):
        return any(r.get(key) == value for r in item.get("Resources") or ())
    return bool(item.get(key) == value)


def _token(query: str, offset: int) -> str:
    """An opaque NextToken; the same query and position always give the same token."""
    digest = hashlib.sha256(f"{query}|{offset}".encode()).digest()
    return base64.b64encode(digest + offset.to_bytes(4, "big")).decode()


@pytest.fixture
def cloudtrail_server() -> Iterator[CloudTrailServer]:
    """A fresh CloudTrail per test: no events, no switches set."""
    with CloudTrailServer() as server:
        yield server
