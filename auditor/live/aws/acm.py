"""ACM certificates, found by domain name (one list call) or by ARN.

A certificate takes the Terraform shape of ``aws_acm_certificate`` (a private CA's
certificate keeps its ``certificate_authority_arn``) plus what the expiry and renewal
checks read: status, expiry, renewal eligibility and the state of a renewal under way
(``renewal_status``: a renewal PENDING_VALIDATION or FAILED will not happen by itself) and
the resources using it.
Several certificates may carry one domain (a replacement, an old import); the one that
serves counts: in use first, then issued, then the latest expiry.
"""

from __future__ import annotations

from typing import Any

from auditor.live.aws.api import Api, read
from auditor.live.aws.targets import Targets
from auditor.live.base import LiveCollected, iso
from auditor.models import Resource

KINDS = ("ACMCertificate",)
SERVICES = ("acm",)
# ListCertificates returns only RSA 2048 certificates unless asked for every key type.
_KEY_TYPES = ["RSA_1024", "RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1",
              "EC_secp384r1", "EC_secp521r1"]


def wanted(t: Targets) -> tuple[str, ...]:
    return KINDS if t.certificates else ()


def collect(api: Api, t: Targets) -> LiveCollected:
    out = LiveCollected()
    read(out, KINDS, lambda: _certificates(api, t.certificates))
    return out


def _certificates(api: Api, wanted: list[str]) -> list[Resource]:
    arns = [w for w in wanted if w.startswith("arn:")]
    domains = [w for w in wanted if not w.startswith("arn:")]
    candidates: dict[str, list[str]] = {d: [] for d in domains}
    if domains:
        for summary in api.pages("acm", "list_certificates", "CertificateSummaryList",
                                 Includes={"keyTypes": _KEY_TYPES}):
            if summary.get("DomainName") in candidates:
                candidates[summary["DomainName"]].append(summary["CertificateArn"])
    # One certificate per call: described Api.PER_OBJECT at a time, each ARN once.
    every = list(dict.fromkeys([*arns, *(a for d in domains for a in candidates[d])]))
    described = dict(zip(every, api.each(lambda arn: _describe(api, arn), every),
                         strict=True))
    found = [_resource(api, cert) for arn in arns if (cert := described[arn])]
    for domain in domains:
        certs = [c for arn in candidates[domain] if (c := described[arn])]
        if certs:
            found.append(_resource(api, max(certs, key=_serving)))
    return found


def _describe(api: Api, arn: str) -> dict[str, Any] | None:
    response = api.call("acm", "describe_certificate", missing=("ResourceNotFoundException",),
                        CertificateArn=arn)
    cert: dict[str, Any] | None = (response or {}).get("Certificate")
    return cert


def _serving(cert: dict[str, Any]) -> tuple[bool, bool, str]:
    after = cert.get("NotAfter")
    return bool(cert.get("InUseBy")), cert.get("Status") == "ISSUED", iso(after) if after else ""


def _resource(api: Api, cert: dict[str, Any]) -> Resource:
    methods = [o.get("ValidationMethod") for o in cert.get("DomainValidationOptions") or []]
    after = cert.get("NotAfter")
    renewal = cert.get("RenewalSummary") or {}
    extra = {k: v for k, v in {  # absent unless AWS says them, as Terraform omits them
        "certificate_authority_arn": cert.get("CertificateAuthorityArn"),
        "renewal_status": renewal.get("RenewalStatus"),
        "renewal_status_reason": renewal.get("RenewalStatusReason"),
    }.items() if v}
    return api.resource("ACMCertificate", cert["DomainName"], {
        **extra,
        "domain_name": cert["DomainName"],
        # An imported certificate has no validation method, as its Terraform resource has none.
        "validation_method": next((m for m in methods if m), None),
        "status": cert.get("Status"), "not_after": iso(after) if after else None,
        "renewal_eligibility": cert.get("RenewalEligibility"),
        "in_use_by": list(cert.get("InUseBy") or []), "arn": cert.get("CertificateArn"),
    })
