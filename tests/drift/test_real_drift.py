"""Real drift of each kind the runbook's emergency commands leave behind: one change to an
otherwise identical live copy of the chess-ai example gives exactly one finding, naming
the field, the declared value and its file:line, the live value, the likely command and
the command that restores Git's value."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml

from auditor.checks.base import Outcome
from auditor.config import load
from auditor.models import Inventory, Resource
from auditor.pipeline import declared_inventory
from tests.drift.live import find, live_copy, run

RESTORED = "chess-ai-restored.us-east-1.rds.amazonaws.com"
HELM_RESTORE = "helm upgrade chess-ai ./helm/chess-ai -f helm/values-prod.yaml -n chess-ai"
TF = "terraform -chdir=infrastructure/terraform/aws apply -target="


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def only_finding(check: str, declared: Inventory, live: list[Resource]) -> Outcome:
    found = [o for o in run(check, declared, live) if o.status != "pass"]
    assert len(found) == 1, [(o.item, o.vars) for o in found]
    assert found[0].status == "fail"
    return found[0]


def expect(out: Outcome, **want: Any) -> None:
    got = {k: (str(out.location) if k == "at" else out.vars[k]) for k in want}
    assert got == want


def main_container(live: list[Resource]) -> dict[str, Any]:
    pod = find(live, "Deployment").body["spec"]["template"]["spec"]
    return next(c for c in pod["containers"] if c["name"] == "chess-ai")


def test_image_changed_by_kubectl_set_image(declared: Inventory, live: list[Resource]) -> None:
    main_container(live)["image"] = "123456789012.dkr.ecr.us-east-1.amazonaws.com/chess-ai:v2.4.2"
    out = only_finding("helm-drift", declared, live)
    assert out.item == "spec.template.spec.containers[chess-ai].image"
    expect(out, declared="123456789012.dkr.ecr.us-east-1.amazonaws.com/chess-ai:v2.4.1",
           live="123456789012.dkr.ecr.us-east-1.amazonaws.com/chess-ai:v2.4.2",
           at="helm/chess-ai/templates/deployment.yaml:43", restore=HELM_RESTORE,
           cause="kubectl set image deployment/chess-ai chess-ai=123456789012.dkr.ecr"
                 ".us-east-1.amazonaws.com/chess-ai:v2.4.2 -n chess-ai")


def test_memory_limit_raised_with_helm_upgrade_set(declared: Inventory,
                                                   live: list[Resource]) -> None:
    main_container(live)["resources"]["limits"]["memory"] = "16Gi"
    out = only_finding("helm-drift", declared, live)
    assert out.item == "spec.template.spec.containers[chess-ai].resources.limits.memory"
    expect(out, declared="8Gi", live="16Gi", at="helm/values-prod.yaml:21",
           declared_at="helm/values-prod.yaml:21", restore=HELM_RESTORE,
           cause="helm upgrade chess-ai ./helm/chess-ai --set resources.limits.memory=16Gi "
                 "-n chess-ai")


def test_cpu_limit_raised_as_the_runbook_does(declared: Inventory, live: list[Resource]) -> None:
    main_container(live)["resources"]["limits"]["cpu"] = "4000m"  # == the declared "4"
    main_container(live)["resources"]["requests"]["cpu"] = "2"  # != the declared 1000m
    out = only_finding("helm-drift", declared, live)
    expect(out, declared="1000m", live="2", at="helm/values-prod.yaml:17",
           cause="helm upgrade chess-ai ./helm/chess-ai --set resources.requests.cpu=2 "
                 "-n chess-ai")


def test_env_var_added_by_kubectl_set_env(declared: Inventory, live: list[Resource]) -> None:
    main_container(live)["env"].append({"name": "DB_HOST", "value": RESTORED})
    out = only_finding("helm-drift", declared, live)
    assert out.item == "spec.template.spec.containers[chess-ai].env[DB_HOST]"
    # The value is never shown, not even as a hash; Helm's three-way merge keeps a
    # variable added out of band, so the restore removes it first and upgrades after.
    expect(out, declared="(not declared)", live="set (hidden)",
           at="helm/chess-ai/templates/deployment.yaml:54",
           restore=f"kubectl set env deployment/chess-ai -c chess-ai DB_HOST- -n chess-ai "
                   f"&& {HELM_RESTORE}",
           cause="kubectl set env deployment/chess-ai -c chess-ai DB_HOST=<value> -n chess-ai")
    assert RESTORED not in str(out.vars)


def test_env_value_changed_shows_only_hashes(declared: Inventory, live: list[Resource]) -> None:
    old, new = "postgres://app@db:5432/app", "postgres://app:hunter2@db:5432/app"
    dep = next(r for r in declared.resources if r.kind == "Deployment")
    dep.body["spec"]["template"]["spec"]["containers"][0]["env"].append(
        {"name": "DATABASE_URL", "value": old})
    main_container(live)["env"].append({"name": "DATABASE_URL", "value": new})
    out = only_finding("helm-drift", declared, live)
    assert out.item == "spec.template.spec.containers[chess-ai].env[DATABASE_URL].value"
    expect(out, declared="(hidden)", live="changed (hidden)",
           restore=HELM_RESTORE, cause="kubectl set env deployment/chess-ai -c chess-ai "
                                       "DATABASE_URL=<value> -n chess-ai")
    assert "hunter2" not in str(out.vars) and old not in str(out.vars)
    # Compared by value all the same: the hash marker of the declared value is no drift.
    main_container(live)["env"][-1]["value"] = {"$sha256": sha(old)}
    assert {o.status for o in run("helm-drift", declared, live)} == {"pass"}


def test_args_changed_show_only_hashes(declared: Inventory, live: list[Resource]) -> None:
    pod = find(live, "Deployment").body["spec"]["template"]["spec"]
    sidecar = next(c for c in pod["containers"] if c["name"] == "log-shipper")
    old = list(sidecar["args"])
    sidecar["args"] = [*old, "-p", "token=hunter2"]
    out = only_finding("helm-drift", declared, live)
    assert out.item == "spec.template.spec.containers[log-shipper].args"
    assert "hunter2" not in str(out.vars) and "cloudwatch_logs" not in str(out.vars)
    assert (out.vars["declared"], out.vars["live"]) == ("(hidden)", "changed (hidden)")
    sidecar["args"] = [{"$sha256": sha(a)} for a in old]  # as a snapshot keeps them
    assert {o.status for o in run("helm-drift", declared, live)} == {"pass"}


def test_a_secret_looking_env_value_is_never_shown(declared: Inventory,
                                                   live: list[Resource]) -> None:
    main_container(live)["env"].append({"name": "DB_PASSWORD_OVERRIDE", "value": "hunter2"})
    out = only_finding("helm-drift", declared, live)
    assert "hunter2" not in str(out.vars)
    assert out.vars["live"] == "set (hidden)" and sha("hunter2")[:8] not in str(out.vars)


def test_probe_patched_with_kubectl_patch(declared: Inventory, live: list[Resource]) -> None:
    main_container(live)["readinessProbe"]["initialDelaySeconds"] = 30
    main_container(live)["readinessProbe"]["timeoutSeconds"] = 3  # as declared
    out = only_finding("helm-drift", declared, live)
    expect(out, declared="5", live="30", at="helm/chess-ai/values.yaml:61",
           cause="kubectl patch deployment/chess-ai -n chess-ai -p '{\"spec\":{\"template\":"
                 "{\"spec\":{\"containers\":[{\"name\":\"chess-ai\",\"readinessProbe\":"
                 "{\"initialDelaySeconds\":30}}]}}}}'")


def test_a_live_only_field_that_is_not_the_default(declared: Inventory,
                                                   live: list[Resource]) -> None:
    main_container(live)["livenessProbe"]["successThreshold"] = 2  # default 1, chart silent
    out = only_finding("helm-drift", declared, live)
    assert out.item == "spec.template.spec.containers[chess-ai].livenessProbe.successThreshold"
    expect(out, declared="1 (the default; not set in Git)", live="2")


def test_configmap_edited_when_its_content_was_read(declared: Inventory,
                                                    live: list[Resource]) -> None:
    data = dict(next(r for r in declared.resources if r.kind == "ConfigMap").body["data"])
    find(live, "ConfigMap").body["data"] = {**data, "LOG_LEVEL": "DEBUG"}
    out = only_finding("helm-drift", declared, live)
    # INFO is set in both values files: Helm attribution points at the template line.
    expect(out, declared="(hidden)", live="changed (hidden)",
           at="helm/chess-ai/templates/configmap.yaml:14",
           cause="kubectl edit configmap chess-ai -n chess-ai")
    # As a snapshot records it: a hash per key, compared by hash.
    find(live, "ConfigMap").body["data"] = {k: {"$sha256": sha(str(v))} for k, v in data.items()}
    assert {o.status for o in run("helm-drift", declared, live)} == {"pass"}
    find(live, "ConfigMap").body["data"]["LOG_LEVEL"] = {"$sha256": sha("DEBUG")}
    assert only_finding("helm-drift", declared, live).item == "data.LOG_LEVEL"


def test_a_configmap_whose_content_was_not_read_is_unknown(declared: Inventory,
                                                           live: list[Resource]) -> None:
    del find(live, "ConfigMap").body["data"]  # read as metadata only
    [out] = [o for o in run("helm-drift", declared, live) if o.status != "pass"]
    assert (out.status, out.resource.kind, out.item) == ("unknown", "ConfigMap", "data")
    assert out.reason.startswith("content not read")


def test_hpa_min_replicas_patched(declared: Inventory, live: list[Resource]) -> None:
    find(live, "HorizontalPodAutoscaler").body["spec"]["minReplicas"] = 5
    out = only_finding("hpa-drift", declared, live)
    assert out.item == "spec.minReplicas"
    expect(out, declared="3", live="5", at="helm/values-prod.yaml:26", restore=HELM_RESTORE,
           cause="kubectl patch hpa chess-ai -n chess-ai -p '{\"spec\":{\"minReplicas\":5}}'")


def test_hpa_cpu_target_edited(declared: Inventory, live: list[Resource]) -> None:
    metric = find(live, "HorizontalPodAutoscaler").body["spec"]["metrics"][0]
    metric["resource"]["target"]["averageUtilization"] = 50
    out = only_finding("hpa-drift", declared, live)
    assert out.item == "spec.metrics[Resource:cpu].resource.target.averageUtilization"
    expect(out, declared="70", live="50", cause="kubectl edit hpa chess-ai -n chess-ai")


def test_hpa_deleted(declared: Inventory, live: list[Resource]) -> None:
    live.remove(find(live, "HorizontalPodAutoscaler"))
    out = only_finding("hpa-drift", declared, live)
    assert out.item == "(object)"
    expect(out, live="(absent)", at="helm/chess-ai/templates/hpa.yaml:1",
           cause="kubectl delete horizontalpodautoscaler chess-ai -n chess-ai")


def test_replicas_scaled_without_an_hpa(example_copy: Path) -> None:
    config_file = example_copy / "auditor.yaml"
    config = yaml.safe_load(config_file.read_text())
    config["environments"]["prod"]["helm"]["set"] = {"autoscaling.enabled": False}
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    declared = declared_inventory(load(str(config_file)), "prod")
    assert not [r for r in declared.resources if r.kind == "HorizontalPodAutoscaler"]
    live = live_copy(declared)
    assert [o.status for o in run("hpa-drift", declared, live)] == ["pass"]
    find(live, "Deployment").body["spec"]["replicas"] = 10
    out = only_finding("hpa-drift", declared, live)
    assert out.item == "spec.replicas"
    expect(out, declared="2", live="10", at="helm/chess-ai/templates/deployment.yaml:11",
           cause="kubectl scale deployment/chess-ai --replicas=10 -n chess-ai",
           restore="helm upgrade chess-ai ./helm/chess-ai -f helm/values-prod.yaml "
                   "--set autoscaling.enabled=false -n chess-ai")


def test_security_group_rule_added_live(declared: Inventory, live: list[Resource]) -> None:
    find(live, "SecurityGroup", "chess-ai-prod-db").body["ingress"].append(
        {"protocol": "tcp", "from_port": 5432, "to_port": 5432, "cidr_blocks": ["10.0.0.0/8"],
         "ipv6_cidr_blocks": [], "security_groups": [], "self": False, "description": None})
    out = only_finding("terraform-drift", declared, live)
    assert out.item == "ingress[tcp 5432 from 10.0.0.0/8]"
    expect(out, declared="(not declared)", live="tcp 5432 from 10.0.0.0/8",
           at="infrastructure/terraform/aws/security_groups.tf:74",
           restore=TF + "aws_security_group.db",
           cause="aws ec2 authorize-security-group-ingress --group-id sg-0db5432aaaabbbbcc "
                 "--protocol tcp --port 5432 --cidr 10.0.0.0/8")


def test_declared_rule_revoked_live(declared: Inventory, live: list[Resource]) -> None:
    find(live, "SecurityGroup", "chess-ai-prod-alb").body["ingress"] = [
        r for r in find(live, "SecurityGroup", "chess-ai-prod-alb").body["ingress"]
        if r["from_port"] != 80]
    out = only_finding("terraform-drift", declared, live)
    expect(out, declared="tcp 80 from 0.0.0.0/0", live="(absent)",
           at="infrastructure/terraform/aws/security_groups.tf:18",
           cause="aws ec2 revoke-security-group-ingress --group-id sg-0db5432aaaabbbbcc "
                 "--protocol tcp --port 80 --cidr 0.0.0.0/0")


def test_max_connections_changed(declared: Inventory, live: list[Resource]) -> None:
    find(live, "DBParameterGroup").body["parameters"]["max_connections"] = "400"
    out = only_finding("terraform-drift", declared, live)
    assert out.item == "parameters.max_connections"
    expect(out, declared="200", live="400", at="infrastructure/terraform/aws/rds.tf:16",
           restore=TF + "aws_db_parameter_group.main",
           cause='aws rds modify-db-parameter-group --db-parameter-group-name chess-ai-params '
                 '--parameters "ParameterName=max_connections,ParameterValue=400,'
                 'ApplyMethod=pending-reboot"')


def test_node_group_max_raised(declared: Inventory, live: list[Resource]) -> None:
    find(live, "Nodegroup").body["scaling_config"]["max_size"] = 20
    out = only_finding("terraform-drift", declared, live)
    assert out.item == "scaling_config.max_size"
    expect(out, declared="6", live="20", at="infrastructure/terraform/aws/eks.tf:15",
           restore=TF + "aws_eks_node_group.general",
           cause="aws eks update-nodegroup-config --cluster-name chess-ai-prod --nodegroup-name "
                 "general --scaling-config minSize=3,maxSize=20,desiredSize=6")


def test_target_group_health_check_path_changed(declared: Inventory,
                                                live: list[Resource]) -> None:
    find(live, "TargetGroup").body["health_check"]["path"] = "/health/ready"
    out = only_finding("terraform-drift", declared, live)
    assert out.item == "health_check.path"
    expect(out, declared="/health", live="/health/ready",
           at="infrastructure/terraform/aws/alb.tf:33", restore=TF + "aws_lb_target_group.app",
           cause="aws elbv2 modify-target-group --target-group-arn <tg-arn> "
                 "--health-check-path /health/ready")


def test_database_protection_turned_off(declared: Inventory, live: list[Resource]) -> None:
    find(live, "DBInstance").body["deletion_protection"] = False
    out = only_finding("terraform-drift", declared, live)
    expect(out, declared="true", live="false", at="infrastructure/terraform/aws/rds.tf:61",
           cause="aws rds modify-db-instance --db-instance-identifier chess-ai-prod "
                 "--no-deletion-protection --apply-immediately")


def test_storage_class_expansion_enabled_live(declared: Inventory,
                                              live: list[Resource]) -> None:
    find(live, "StorageClass").body["allowVolumeExpansion"] = True
    out = only_finding("terraform-drift", declared, live)
    expect(out, declared="false", live="true", at="helm/chess-ai/values.yaml:109",
           restore=HELM_RESTORE,
           cause="kubectl patch storageclass chess-ai-gp3 -p '{\"allowVolumeExpansion\":true}'")


def test_egress_rule_added_live_names_the_egress_command(declared: Inventory,
                                                         live: list[Resource]) -> None:
    find(live, "SecurityGroup", "chess-ai-prod-alb").body["egress"].append(
        {"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_blocks": ["0.0.0.0/0"]})
    out = only_finding("terraform-drift", declared, live)
    assert out.item == "egress[tcp 443 to 0.0.0.0/0]"
    expect(out, at="infrastructure/terraform/aws/security_groups.tf:28",
           cause="aws ec2 authorize-security-group-egress --group-id sg-0db5432aaaabbbbcc "
                 "--ip-permissions 'IpProtocol=tcp,FromPort=443,ToPort=443,"
                 "IpRanges=[{CidrIp=0.0.0.0/0}]'")
