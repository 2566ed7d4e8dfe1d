"""Declared sources: Helm charts, manifests and Terraform. The registry is in
:mod:`auditor.sources.declared` (live sources come with `audit`); importing one source's
module (e.g. the Helm engine's identity, for the cache's keys) does not import the others."""
