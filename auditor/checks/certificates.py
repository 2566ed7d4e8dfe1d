"""Certificate expiry: TLS endpoints, ACM certificates and cert-manager Certificates.

Reads the live model's shapes (docs/live-model.md). A certificate that expires within
``warn_days`` fails (marked critical within ``critical_days``), as does an expired or
untrusted one; an expiry that was not read or cannot be parsed is ``unknown`` with the
reason, never a pass.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from auditor.checks.base import CheckContext, Outcome
from auditor.checks.clock import DAY, now, parse_time, span, when
from auditor.models import Resource
from auditor.paths import MISSING, Path, get
from auditor.unknown import Unknown

_CERT_LABEL = {"TLSEndpoint": "TLS endpoint", "ACMCertificate": "ACM certificate",
               "Certificate": "cert-manager Certificate"}


def cert_expiry(ctx: CheckContext) -> list[Outcome]:
    certs = ctx.inventory.of_kind(*_CERT_LABEL)
    if not certs:  # the clock is not read: results without a certificate keep (envcache)
        return []
    moment = now(ctx.params)
    warn = float(ctx.params["warn_days"])
    critical = float(ctx.params["critical_days"])
    return [_expiry(cert, moment, warn, critical) for cert in certs]


def _expiry(cert: Resource, moment: datetime, warn: float, critical: float) -> Outcome:
    label = _CERT_LABEL[cert.kind]
    path: Path = ("status", "notAfter") if cert.kind == "Certificate" else ("not_after",)
    body = cert.body
    if cert.kind == "TLSEndpoint" and body.get("reachable") is not True:
        # Its expiry was not read: that is an incomplete audit (error), not a mere unknown.
        return Outcome(cert, "error", reason=f"{label} {body.get('url', cert.name)} could "
                       f"not be reached: {body.get('error') or 'no TLS handshake'}")
    raw = get(body, path)
    if isinstance(raw, Unknown):
        return Outcome(cert, "unknown", path=path, reason=raw)
    if raw is MISSING or raw is None:
        return Outcome(cert, "unknown", path=path, reason=_no_expiry(cert))
    expires = parse_time(raw)
    if expires is None:
        return Outcome(cert, "unknown", path=path, reason=f"expiry {raw!r} is not a date")
    left = expires - moment
    problems = []
    if cert.kind == "TLSEndpoint" and body.get("verified") is not True:
        problems.append(str(body.get("error") or "certificate not trusted"))
    if left <= timedelta(0):
        problems.append(f"critical: expired {span(-left)} ago, on {when(expires)}")
    elif left < warn * DAY:
        text = f"expires in {span(left)}, on {when(expires)}"
        if left < critical * DAY:
            text += f"; critical: expires within {critical:g} days"
        problems.append(text)
    facts = {"what": label, "problem": "; ".join(problems), "not_after": expires.isoformat(),
             "days_left": round(left / DAY, 1), "critical": left < critical * DAY}
    return Outcome(cert, "fail" if problems else "pass", path=path if problems else (),
                   vars=facts)


def _no_expiry(cert: Resource) -> str:
    if cert.kind == "ACMCertificate":
        return f"ACM gives no expiry date (status {cert.body.get('status', 'not read')})"
    if cert.kind == "Certificate":
        conditions = get(cert.body, ("status", "conditions"))
        ready = next((c for c in conditions if isinstance(c, dict) and c.get("type") == "Ready"),
                     {}) if isinstance(conditions, list) else {}
        why = f": {ready.get('reason')}: {ready.get('message')}" if ready else ""
        return f"cert-manager has not issued it (no status.notAfter){why}"
    return f"no expiry was read: {cert.body.get('error') or 'no certificate'}"
