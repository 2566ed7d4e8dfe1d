"""The region's account-wide guards: GuardDuty detectors and CloudTrail trails.

One ``AWSAccount`` resource, named by the region, is emitted whenever both were read, so
the account-wide checks always have something to apply to (no detector is then a finding,
not silence). Trails include multi-region trails of other regions (shadow trails), whose
status is read by ARN. If either service cannot be read the kind is unavailable: a half
account could pass the other check's absence test.
"""

from __future__ import annotations

from auditor.live.aws.api import Api, read
from auditor.live.aws.targets import Targets
from auditor.live.base import LiveCollected
from auditor.models import Resource

KINDS = ("AWSAccount",)
SERVICES = ("guardduty", "cloudtrail")


def wanted(t: Targets) -> tuple[str, ...]:
    return KINDS  # account-wide: wanted whenever AWS is read at all


def collect(api: Api, t: Targets) -> LiveCollected:
    out = LiveCollected()
    read(out, KINDS, lambda: [_account(api)])
    return out


def _account(api: Api) -> Resource:
    detectors = []
    for detector in api.pages("guardduty", "list_detectors", "DetectorIds"):
        found = api.call("guardduty", "get_detector", DetectorId=detector) or {}
        detectors.append({"id": detector, "status": found.get("Status")})
    trails = []
    listed = api.call("cloudtrail", "describe_trails", includeShadowTrails=True) or {}
    for trail in listed.get("trailList") or []:
        status = api.call("cloudtrail", "get_trail_status", Name=trail["TrailARN"]) or {}
        trails.append({"name": trail.get("Name"),
                       "is_multi_region_trail": bool(trail.get("IsMultiRegionTrail")),
                       "is_logging": bool(status.get("IsLogging"))})
    return api.resource("AWSAccount", api.region, {
        "region": api.region, "guardduty_detectors": detectors, "trails": trails})
