"""CronJobs, Jobs and ServiceAccounts on the live side, read through the official client over
real HTTP from the local fake API server, then judged by the pack's own policies: a
CronJob's defect is found once (not again on the Jobs it started), a pull secret missing
from a pod's ServiceAccount fails, and a kind the server refuses is an error, never a
pass."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from auditor import engine
from auditor.checks.base import CheckContext
from auditor.checks.live import image_pull_secrets_exist
from auditor.config import Config, Environment
from auditor.live import kubernetes as kc
from auditor.live.base import LiveCollected
from auditor.models import Inventory, Result
from auditor.policies import PACK_DIR, load_file
from auditor.sources.manifests import to_resource
from tests.live.k8s_api import FakeKubeApi

NS = "chess-ai"
MakeEnv = Callable[..., tuple[Config, Environment]]
Collect = Callable[[], LiveCollected]
IMAGE = "registry.example.com/chess-ai-eval:1.4.2"
TOKEN_SECRET = "chess-ai-token-x7k2p"


def pod(**extra: Any) -> dict[str, Any]:
    """A batch pod spec that loads ConfigMap eval-settings and has no CPU limit."""
    return {"restartPolicy": "Never", "containers": [{
        "name": "eval", "image": IMAGE, "envFrom": [{"configMapRef": {"name": "eval-settings"}}],
        "resources": {"requests": {"cpu": "1", "memory": "1Gi"},
                      "limits": {"memory": "1Gi"}}}], **extra}


def cronjob(name: str = "nightly-eval", **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {
                "backoffLimit": 2, "template": {"spec": pod(**extra)}}}}}


def job(name: str, owner: dict[str, Any] | None = None, **status: Any) -> dict[str, Any]:
    """A Job; with ``owner``, one that CronJob started (as the CronJob controller does)."""
    meta: dict[str, Any] = {"name": name, "namespace": NS}
    if owner is not None:
        meta["ownerReferences"] = [{
            "apiVersion": "batch/v1", "kind": "CronJob", "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta,
            "spec": {"backoffLimit": 2, "template": {"spec": pod()}},
            "status": status or {"active": 1}}


def account(name: str, *pull_secrets: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": name, "namespace": NS},
            "secrets": [{"name": TOKEN_SECRET}],
            **({"imagePullSecrets": [{"name": s} for s in pull_secrets]}
               if pull_secrets else {})}


def deployment(name: str, **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": NS}, "spec": {"replicas": 2, "template": {
                "spec": {"containers": [{"name": name, "image": IMAGE}], **extra}}}}


def named(kind: str, name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "namespace": NS}}


@pytest.fixture
def collect(kube_api: FakeKubeApi, kubeconfig: Path, make_kube_env: MakeEnv) -> Collect:
    kube_api.add(account("default"))  # every namespace has it
    config, env = make_kube_env(kubeconfig=str(kubeconfig))
    return lambda: kc.collect(config, "prod", env, [])


def judge(found: LiveCollected, policy_id: str) -> list[Result]:
    """The policy's results on the collected live state (not its passes)."""
    inventory = Inventory("prod", "live", found.resources, [], dict(found.names),
                          dict(found.unavailable))
    policy = load_file(PACK_DIR / f"{policy_id}.yaml")
    return [r for r in engine.evaluate([policy], inventory, {}) if r.status != "pass"]


def shown(results: list[Result]) -> list[tuple[str, str, str, str | None]]:
    return [(r.status, r.kind, r.name, r.item) for r in results]


# ---- CronJobs and the Jobs they start ----------------------------------------------------

def test_a_cronjob_missing_its_configmap_fails_on_the_live_side(
        kube_api: FakeKubeApi, collect: Collect) -> None:
    kube_api.add(cronjob())
    found = collect()
    assert found.unavailable == {}
    (result,) = judge(found, "config-refs-exist")
    assert shown([result]) == [("fail", "CronJob", "nightly-eval", "configmap/eval-settings")]
    assert result.message == (
        "CronJob nightly-eval needs ConfigMap eval-settings (envFrom of container eval), which "
        "does not exist in namespace chess-ai: the pods of its next run cannot start")
    assert result.commands == []  # no `kubectl rollout restart` for a CronJob: none exists
    assert result.checks[0] == "kubectl get configmap eval-settings -n chess-ai"
    kube_api.add(named("ConfigMap", "eval-settings"))  # created: the CronJob passes
    assert judge(collect(), "config-refs-exist") == []


def test_a_job_a_cronjob_started_is_not_reported_again(
        kube_api: FakeKubeApi, collect: Collect) -> None:
    """The CronJob carries the defect; its running and finished Jobs (copies of its
    template) are left out. A Job whose CronJob is gone, or that nothing started, is
    still checked on its own."""
    nightly = cronjob()
    kube_api.add(nightly)
    kube_api.add(job("nightly-eval-29012340", nightly, succeeded=1, conditions=[
                     {"type": "Complete", "status": "True"}]),
                 job("nightly-eval-29012345", nightly),
                 job("weekly-eval-28990000", {"metadata": {"name": "weekly-eval",
                                                           "uid": "uid-deleted"}}),
                 job("backfill-2026-11"))
    found = collect()
    jobs = sorted(r.name for r in found.resources if r.kind == "Job")
    assert jobs == ["backfill-2026-11", "weekly-eval-28990000"]
    assert shown(judge(found, "config-refs-exist")) == [
        ("fail", "CronJob", "nightly-eval", "configmap/eval-settings"),
        ("fail", "Job", "weekly-eval-28990000", "configmap/eval-settings"),
        ("fail", "Job", "backfill-2026-11", "configmap/eval-settings")]
    # The pod-spec policies too: the missing CPU limit once per template, not per run.
    assert shown(judge(found, "cpu-limits")) == [
        ("fail", "CronJob", "nightly-eval", "eval"),
        ("fail", "Job", "weekly-eval-28990000", "eval"),
        ("fail", "Job", "backfill-2026-11", "eval")]


def test_a_finished_job_needs_its_configmap_no_more(
        kube_api: FakeKubeApi, collect: Collect) -> None:
    kube_api.add(job("migrate-41", conditions=[{"type": "Complete", "status": "True"}]),
                 job("migrate-42", conditions=[{"type": "Failed", "status": "True"}]),
                 job("migrate-43"))  # still running: its retries need the ConfigMap
    assert shown(judge(collect(), "config-refs-exist")) == [
        ("fail", "Job", "migrate-43", "configmap/eval-settings")]


# ---- imagePullSecrets that come from the ServiceAccount ----------------------------------

def test_a_pull_secret_missing_from_the_pods_service_account_fails(
        kube_api: FakeKubeApi, collect: Collect) -> None:
    kube_api.add(account("chess-ai", "registry-pull"),
                 deployment("chess-ai", serviceAccountName="chess-ai"),
                 # Its own list wins: admission never adds the account's to it.
                 deployment("chess-ai-worker", serviceAccountName="chess-ai",
                            imagePullSecrets=[{"name": "ecr-pull"}]),
                 named("Secret", "ecr-pull"))
    found = collect()
    (result,) = judge(found, "image-pull-secrets-exist")
    assert shown([result]) == [("fail", "Deployment", "chess-ai", "secret/registry-pull")]
    assert result.message == (
        "Deployment chess-ai pulls images with imagePullSecret registry-pull, which it gets "
        "from its ServiceAccount chess-ai (its pod spec names no imagePullSecrets of its "
        "own); that Secret does not exist in namespace chess-ai: pods on nodes without the "
        "image cached cannot start")
    assert "ServiceAccount chess-ai" in result.remediation_text
    assert "kubectl get serviceaccount chess-ai -n chess-ai -o jsonpath='{.imagePullSecrets}'" \
        in result.checks
    # Of the account only its pull secrets' names are kept: not its token Secrets.
    kept = next(r.body for r in found.resources
                if (r.kind, r.name) == ("ServiceAccount", "chess-ai"))
    assert kept["imagePullSecrets"] == [{"name": "registry-pull"}]
    assert TOKEN_SECRET not in json.dumps(kept)


def test_the_default_service_account_of_a_cronjob(
        kube_api: FakeKubeApi, collect: Collect) -> None:
    """No serviceAccountName: the pods run as "default", and get its pull secrets."""
    kube_api.objects.clear()
    kube_api.add(account("default", "registry-pull"), cronjob(),
                 named("ConfigMap", "eval-settings"))
    (result,) = judge(collect(), "image-pull-secrets-exist")
    assert shown([result]) == [("fail", "CronJob", "nightly-eval", "secret/registry-pull")]
    assert "from its ServiceAccount default" in result.message
    assert result.checks[-1].startswith("kubectl get cronjob nightly-eval -n chess-ai -o "
                                        "'custom-columns=ACCOUNT:.spec.jobTemplate.spec.")


# ---- a kind the server refuses: an error, never a pass -----------------------------------

def test_jobs_of_a_cronjob_that_could_not_be_read_are_checked_on_their_own(
        kube_api: FakeKubeApi, collect: Collect) -> None:
    nightly = cronjob()
    kube_api.add(nightly)
    kube_api.add(job("nightly-eval-29012345", nightly))
    kube_api.fail("cronjobs", 403)
    results = judge(collect(), "config-refs-exist")
    assert [r.status for r in results] == ["error", "fail"]
    assert results[0].message.startswith("CronJob could not be read: forbidden (403)")
    assert shown(results[1:]) == [
        ("fail", "Job", "nightly-eval-29012345", "configmap/eval-settings")]


@pytest.mark.parametrize(("plural", "kind", "policy"), [
    ("cronjobs", "CronJob", "config-refs-exist"),
    ("jobs", "Job", "config-refs-exist"),
    ("cronjobs", "CronJob", "cpu-limits"),
    ("cronjobs", "CronJob", "image-pull-secrets-exist"),
])
def test_a_refused_workload_kind_is_an_error(
        kube_api: FakeKubeApi, collect: Collect, plural: str, kind: str,
        policy: str) -> None:
    kube_api.add(cronjob(), job("backfill-2026-11"), deployment("chess-ai"))
    kube_api.fail(plural, 403)
    found = collect()
    assert set(found.unavailable) == {kind}
    results = judge(found, policy)
    errors = [r for r in results if r.status == "error"]
    assert [r.message.split(": User")[0] for r in errors] == [
        f"{kind} could not be read: forbidden (403): {plural} is forbidden"]
    assert errors[0].message.endswith("(the other kinds were checked)")
    assert kind not in {r.kind for r in results}


def test_refused_service_accounts_are_an_error_for_the_pods_that_need_one(
        kube_api: FakeKubeApi, collect: Collect) -> None:
    kube_api.add(deployment("chess-ai", serviceAccountName="chess-ai"),
                 deployment("chess-ai-worker", imagePullSecrets=[{"name": "ecr-pull"}]),
                 named("Secret", "ecr-pull"))
    kube_api.fail("serviceaccounts", 403)
    found = collect()
    assert set(found.unavailable) == {"ServiceAccount"}
    inventory = Inventory("prod", "live", found.resources, [], dict(found.names),
                          dict(found.unavailable))
    results = engine.evaluate([load_file(PACK_DIR / "image-pull-secrets-exist.yaml")],
                              inventory, {})
    by_name = {r.name: r for r in results if r.kind == "Deployment"}
    assert by_name["chess-ai"].status == "error"  # its pull secrets would come from it
    assert by_name["chess-ai"].item == "secret of ServiceAccount chess-ai"
    assert by_name["chess-ai"].message.startswith(
        "cannot be evaluated: ServiceAccount chess-ai could not be read: forbidden (403)")
    assert by_name["chess-ai-worker"].status == "pass"  # names its own: the account's unused
    assert [r.kind for r in results if r.status == "error"] == ["Policy", "Deployment"]


# ---- the declared side: only a ServiceAccount the chart renders is known ----------------

@pytest.mark.parametrize(("rendered", "expected"), [
    ([account("chess-ai", "registry-pull")], ["fail"]),
    ([], ["pass"]),  # the account is made elsewhere: nothing is known of its pull secrets
])
def test_declared_pods_get_the_pull_secrets_of_a_rendered_service_account(
        rendered: list[dict[str, Any]], expected: list[str]) -> None:
    objects = [deployment("chess-ai", serviceAccountName="chess-ai"), *rendered]
    inventory = Inventory("prod", "declared",
                          [to_resource(o, "helm", NS, {}) for o in objects])
    outcomes = image_pull_secrets_exist(CheckContext(inventory, {}))
    assert [o.status for o in outcomes] == expected
    if rendered:
        assert outcomes[0].vars["service_account"] == "chess-ai"
