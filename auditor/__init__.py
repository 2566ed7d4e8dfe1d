"""runbook-auditor: turns an operations runbook into policies and checks config against them."""

__version__ = "0.1.0"
