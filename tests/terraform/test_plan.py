"""``terraform: {plan: plan.json}``: Terraform's own values from ``terraform show -json``,
located in the HCL by address. The plans here are written in Terraform's documented JSON
format (developer.hashicorp.com/terraform/internals/json-format): format_version,
planned_values (root_module, child_modules), resource_changes (after_unknown,
after_sensitive) and configuration (expressions with references)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from auditor.config import load
from auditor.errors import ConfigError
from auditor.models import Resource
from auditor.sources import terraform
from auditor.sources.base import Collected
from auditor.unknown import Unknown
from tests.conftest import CliResult
from tests.terraform.conftest import findings, one

Project = Callable[[dict[str, str]], Path]
Run = Callable[..., CliResult]
SECRET = "hunter2-plan-secret"
OWNER = "owner-only-in-after-sensitive"

ROOT = """
variable "db_password" {
  sensitive = true
}

resource "random_integer" "days" {
  min = 0
  max = 3
}

resource "aws_security_group" "app" {
  name = "shop-app"
}

resource "aws_security_group" "db" {
  name = "shop-db"
  ingress {
    description     = "postgres from the app"
    from_port       = 5432
    to_port         = 5432
    protocol        = "tcp"
    security_groups = [aws_security_group.app.id]
  }
  ingress {
    description = "ssh from anywhere"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_db_instance" "replica" {
  count                   = 2
  identifier              = "shop-replica-${count.index}"
  backup_retention_period = random_integer.days.result
  vpc_security_group_ids  = [aws_security_group.db.id]
}

module "db" {
  source    = "./modules/db"
  for_each  = toset(["a", "b"])
  name      = "shop-${each.key}"
  retention = 0
  sg_id     = aws_security_group.db.id
  password  = var.db_password
}
"""
DB_MODULE = """
variable "name" {}
variable "retention" {}
variable "sg_id" {}
variable "password" {}

resource "aws_db_instance" "this" {
  identifier              = var.name
  engine                  = "postgres"
  instance_class          = "db.t3.micro"
  backup_retention_period = var.retention
  vpc_security_group_ids  = [var.sg_id]
  password                = var.password
  tags                    = { owner = var.name }
}
"""
CONFIG = """
service: shop
environments:
  prod:
    terraform:
      dirs: [infra]
      plan: infra/plan.json
"""
COMPUTED = {"id": True, "arn": True}  # what AWS assigns: unknown in a plan that creates


# --- Terraform's JSON plan format, piece by piece ---------------------------------------

def planned(address: str, type_: str, name: str, values: dict[str, Any], *,
            index: int | str | None = None, sensitive: dict[str, Any] | None = None,
            mode: str = "managed") -> dict[str, Any]:
    """A resource of a values representation (planned_values)."""
    out = {"address": address, "mode": mode, "type": type_, "name": name,
           "provider_name": "registry.terraform.io/hashicorp/aws", "schema_version": 1,
           "values": values, "sensitive_values": sensitive or {}}
    return out if index is None else {**out, "index": index}


def change(resource: dict[str, Any], unknown: dict[str, Any], *,
           after_sensitive: dict[str, Any] | None = None,
           actions: tuple[str, ...] = ("create",)) -> dict[str, Any]:
    """The resource_changes entry of a planned resource."""
    module = resource["address"].rsplit(f".{resource['type']}.", 1)[0]
    out: dict[str, Any] = {k: resource[k] for k in ("address", "mode", "type", "name",
                                                     "provider_name")}
    if "index" in resource:
        out["index"] = resource["index"]
    if module != resource["address"]:
        out["module_address"] = module
    return {**out, "change": {
        "actions": list(actions), "before": None, "after": resource["values"],
        "after_unknown": unknown, "before_sensitive": False,
        "after_sensitive": after_sensitive or resource["sensitive_values"]}}


def expressions(**given: Any) -> dict[str, Any]:
    """A block expressions representation: lists are references, the rest constants."""
    return {k: {"references": v} if isinstance(v, list) else {"constant_value": v}
            for k, v in given.items()}


def configured(type_: str, name: str, exprs: dict[str, Any], **meta: Any) -> dict[str, Any]:
    return {"address": f"{type_}.{name}", "mode": "managed", "type": type_, "name": name,
            "provider_config_key": "aws", "expressions": exprs, "schema_version": 1, **meta}


def plan(resources: list[tuple[dict[str, Any], dict[str, Any]]],
         children: list[dict[str, Any]] | None = None,
         configuration: dict[str, Any] | None = None,
         variables: dict[str, Any] | None = None) -> str:
    """``terraform show -json tfplan``: (planned resource, after_unknown) pairs of the root
    module; child modules as {"address", "resources": [(planned, after_unknown)]}."""
    kids = [{"address": c["address"], "resources": [r for r, _ in c["resources"]]}
            for c in children or []]
    changes = [change(r, u) for r, u in resources] + [
        change(r, u, after_sensitive=c.get("after_sensitive", {}).get(r["address"]))
        for c in children or [] for r, u in c["resources"]]
    return json.dumps({
        "format_version": "1.2", "terraform_version": "1.9.5",
        "variables": variables or {},
        "planned_values": {"root_module": {"resources": [r for r, _ in resources],
                                           "child_modules": kids}},
        "resource_changes": changes,
        "configuration": {"provider_config": {"aws": {
            "name": "aws", "full_name": "registry.terraform.io/hashicorp/aws"}},
            "root_module": configuration or {}},
        "timestamp": "2025-01-01T00:00:00Z", "applyable": True, "complete": True,
        "errored": False,
    })


def shop_plan() -> str:
    """The plan Terraform makes of ROOT + DB_MODULE, nothing applied yet."""
    days = planned("random_integer.days", "random_integer", "days",
                   {"min": 0, "max": 3, "keepers": None, "seed": None})
    app = planned("aws_security_group.app", "aws_security_group", "app", {
        "name": "shop-app", "description": "Managed by Terraform", "tags": None,
        "revoke_rules_on_delete": False, "timeouts": None})
    rule = {"ipv6_cidr_blocks": [], "prefix_list_ids": [], "self": False}
    db_group = planned("aws_security_group.db", "aws_security_group", "db", {
        "name": "shop-db", "description": "Managed by Terraform", "tags": None,
        "revoke_rules_on_delete": False, "timeouts": None,
        "ingress": [  # a set: Terraform's order, not the file's
            {**rule, "description": "ssh from anywhere", "from_port": 22, "to_port": 22,
             "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"], "security_groups": []},
            {**rule, "description": "postgres from the app", "from_port": 5432,
             "to_port": 5432, "protocol": "tcp", "cidr_blocks": []}]})
    replicas = [planned(f"aws_db_instance.replica[{i}]", "aws_db_instance", "replica", {
        "identifier": f"shop-replica-{i}", "engine": None, "instance_class": None,
        "publicly_accessible": False, "skip_final_snapshot": False, "timeouts": None},
        index=i) for i in (0, 1)]
    replica_unknown = {**COMPUTED, "backup_retention_period": True, "multi_az": True,
                       "endpoint": True, "vpc_security_group_ids": True}
    children = [{
        "address": f'module.db["{key}"]',
        "resources": [(planned(f'module.db["{key}"].aws_db_instance.this', "aws_db_instance",
                               "this", {
            "identifier": f"shop-{key}", "engine": "postgres", "instance_class": "db.t3.micro",
            "backup_retention_period": 0, "password": SECRET, "multi_az": None,
            "tags": {"owner": f"{OWNER}-{key}"}, "timeouts": None},
            sensitive={"password": True, "vpc_security_group_ids": []}),
            {**COMPUTED, "endpoint": True, "multi_az": True,
             "vpc_security_group_ids": [True]})],
        "after_sensitive": {f'module.db["{key}"].aws_db_instance.this': {
            "password": True, "tags": {"owner": True}, "vpc_security_group_ids": [False]}},
    } for key in ("a", "b")]
    module = {"resources": [configured("aws_db_instance", "this", expressions(
        identifier=["var.name"], engine="postgres", instance_class="db.t3.micro",
        backup_retention_period=["var.retention"], vpc_security_group_ids=["var.sg_id"],
        password=["var.password"], tags=["var.name"]))],
        "variables": {n: {} for n in ("name", "retention", "sg_id", "password")}}
    configuration = {
        "variables": {"db_password": {"sensitive": True}},
        "resources": [
            configured("random_integer", "days", expressions(min=0, max=3)),
            configured("aws_security_group", "app", expressions(name="shop-app")),
            configured("aws_security_group", "db", expressions(
                name="shop-db",  # attribute-mode blocks: one expression for all the rules
                ingress=["aws_security_group.app.id", "aws_security_group.app"])),
            configured("aws_db_instance", "replica", expressions(
                identifier=["count.index"],
                backup_retention_period=["random_integer.days.result", "random_integer.days"],
                vpc_security_group_ids=["aws_security_group.db.id", "aws_security_group.db"]),
                count_expression={"constant_value": 2})],
        "module_calls": {"db": {
            "source": "./modules/db",
            "for_each_expression": {"constant_value": ["a", "b"]},
            "expressions": expressions(
                name=["each.key"], retention=0, password=["var.db_password"],
                sg_id=["aws_security_group.db.id", "aws_security_group.db"]),
            "module": module}}}
    return plan([(days, {"id": True, "result": True}),
                 (app, {**COMPUTED, "ingress": True, "egress": True, "owner_id": True,
                        "vpc_id": True, "name_prefix": True, "tags_all": {}}),
                 (db_group, {**COMPUTED, "egress": True, "owner_id": True, "vpc_id": True,
                             "name_prefix": True, "tags_all": {},
                             "ingress": [{"cidr_blocks": [False]},
                                         {"security_groups": True}]}),
                 *[(r, replica_unknown) for r in replicas]],
                children, configuration, variables={"db_password": {"value": SECRET}})


FILES = {"auditor.yaml": CONFIG, "infra/main.tf": ROOT, "infra/modules/db/main.tf": DB_MODULE}


def line(text: str, needle: str, after: str = "") -> int:
    """The line of ``needle`` in a fixture as written (after the first ``after``)."""
    body = text.lstrip("\n")
    start = body.index(after) if after else 0
    return body[:body.index(needle, start)].count("\n") + 1


@pytest.fixture
def collect(project: Project) -> Callable[..., Collected]:
    def run(files: dict[str, str], plan_text: str) -> Collected:
        root = project({**files, "infra/plan.json": plan_text})
        config = load(str(root))
        return terraform.collect(config, "prod", config.environments["prod"])

    return run


def _scan(project: Project, run_cli: Run, files: dict[str, str], plan_text: str,
          *args: str) -> CliResult:
    root = project({**files, "infra/plan.json": plan_text})
    return run_cli("scan", "--config", str(root), "--format", "json", *args)


def _statuses(report: dict[str, Any], policy: str) -> list[tuple[str, str]]:
    """(status, resource name) of every result of ``policy``, passes included."""
    return sorted([*findings(report, policy), *(
        ("pass", p["resource"]["name"]) for p in report["passed"] if p["policy"] == policy)])


def _db(out: Collected, name: str) -> Resource:
    return one(out.resources, "DBInstance", name)


# --- values: Terraform's own, every instance ---------------------------------------------

def test_count_and_for_each_instances_have_terraform_addresses(collect: Any) -> None:
    out = collect(FILES, shop_plan())
    dbs = {r.address: r.name for r in out.resources if r.kind == "DBInstance"}
    assert dbs == {"aws_db_instance.replica[0]": "shop-replica-0",
                   "aws_db_instance.replica[1]": "shop-replica-1",
                   'module.db["a"].aws_db_instance.this': "shop-a",
                   'module.db["b"].aws_db_instance.this': "shop-b"}
    assert out.problems == []
    assert out.names["db_identifier"] == "shop-replica-0"  # a name, not an address


def test_a_modules_computed_values_are_terraforms(collect: Any) -> None:
    """name = "shop-${each.key}" and retention = 0 passed through the module's variables:
    the HCL alone cannot evaluate each.key; the plan says what Terraform computed."""
    db = _db(collect(FILES, shop_plan()), "shop-a")
    assert db.body["identifier"] == "shop-a" and db.body["backup_retention_period"] == 0
    assert "engine" in db.body and "timeouts" not in db.body  # null is unset, as in HCL
    # [var.sg_id] is known only after apply; the module call says which group it is.
    assert db.body["vpc_security_group_ids"] == ["shop-db"]


def test_a_value_known_only_after_apply_is_unknown_naming_its_source(collect: Any) -> None:
    replica = _db(collect(FILES, shop_plan()), "shop-replica-0")
    retention = replica.body["backup_retention_period"]
    assert isinstance(retention, Unknown)
    assert retention.reason == "random_integer.days.result is only known after apply"
    assert "multi_az" not in replica.body  # unset and computed: the provider's default
    group = one(collect(FILES, shop_plan()).resources, "SecurityGroup", "shop-db")
    postgres = next(r for r in group.body["ingress"] if r["from_port"] == 5432)
    assert postgres["security_groups"] == ["shop-app"]  # the reference names the group


def test_sensitive_values_are_never_read(collect: Any) -> None:
    db = _db(collect(FILES, shop_plan()), "shop-a")
    owner = db.body["tags"]["owner"]  # sensitive in after_sensitive only
    assert isinstance(owner, Unknown) and owner.reason == (
        'module.db["a"].aws_db_instance.this.tags.owner is sensitive: its value is not read')
    assert db.body["password"] == "(sensitive)"  # set, which is all a check asks of it
    assert SECRET not in repr(db) and OWNER not in repr(db)


VAULT = """
variable "vault_id" {
  sensitive = true
}

resource "aws_db_instance" "vault" {
  identifier              = var.vault_id
  backup_retention_period = 1
  password                = var.vault_id
}
"""


def test_sensitive_values_never_reach_a_report(project: Project, run_cli: Run) -> None:
    """A name from a sensitive variable is sensitive too: it would be the resource's name
    in every finding, so the address names it instead."""
    vault = planned("aws_db_instance.vault", "aws_db_instance", "vault", {
        "identifier": SECRET, "backup_retention_period": 1, "password": SECRET},
        sensitive={"identifier": True, "password": True})
    text = plan([(vault, COMPUTED)], configuration={"resources": [configured(
        "aws_db_instance", "vault", expressions(identifier=["var.vault_id"],
                                                backup_retention_period=1,
                                                password=["var.vault_id"]))]},
                variables={"vault_id": {"value": SECRET}})
    files = {"auditor.yaml": CONFIG, "infra/main.tf": VAULT}
    report = _scan(project, run_cli, files, text, "--fail-on", "never").json()
    assert findings(report, "rds-backups") == [("fail", "aws_db_instance.vault")]
    assert findings(report, "db-secret-rotation") == [("fail", "aws_db_instance.vault")]
    for fmt in ("json", "table", "sarif", "markdown"):
        shown = _scan(project, run_cli, files, text, "--fail-on", "never", "--format", fmt)
        assert SECRET not in shown.stdout + shown.stderr, fmt
    shop = _scan(project, run_cli, FILES, shop_plan(), "--fail-on", "never").stdout
    assert SECRET not in shop and OWNER not in shop


# --- locations: the HCL, by address ------------------------------------------------------

def test_locations_are_the_hcl_blocks_and_attributes(collect: Any) -> None:
    out = collect(FILES, shop_plan())
    replica = _db(out, "shop-replica-1")
    assert str(replica.location) == f"infra/main.tf:{line(ROOT, 'aws_db_instance')}"
    assert str(replica.locate(("backup_retention_period",))) == (
        f"infra/main.tf:{line(ROOT, 'backup_retention_period', 'replica')}")
    db = _db(out, "shop-b")
    assert str(db.location) == f"infra/modules/db/main.tf:{line(DB_MODULE, 'resource')}"
    assert str(db.locate(("engine",))) == f"infra/modules/db/main.tf:{line(DB_MODULE, 'engine')}"
    # Set by the caller: the call's argument, the module's line related.
    retention = db.locate(("backup_retention_period",))
    assert retention is not None and str(retention) == (
        f"infra/main.tf:{line(ROOT, 'retention = 0')}")
    assert [str(r) for r in retention.related] == [
        f"infra/modules/db/main.tf:{line(DB_MODULE, 'backup_retention_period')}"]


def test_a_set_of_rules_in_terraforms_order_keeps_each_rules_line(collect: Any) -> None:
    group = one(collect(FILES, shop_plan()).resources, "SecurityGroup", "shop-db")
    assert group.body["ingress"][0]["from_port"] == 22  # the plan sorts the set
    assert str(group.locate(("ingress", 0, "cidr_blocks"))) == (
        f"infra/main.tf:{line(ROOT, 'cidr_blocks')}")
    assert str(group.locate(("ingress", 1))) == f"infra/main.tf:{line(ROOT, 'ingress {')}"


def test_a_policy_fails_on_a_plan_at_the_hcl_line(project: Project, run_cli: Run) -> None:
    result = _scan(project, run_cli, FILES, shop_plan())
    assert result.exit_code == 1  # rds-backups and sg-no-world-admin fail
    report = result.json()
    backups = {f["resource"]["address"]: f for f in report["findings"]
               if f["policy"] == "rds-backups"}
    fail = backups['module.db["a"].aws_db_instance.this']
    assert fail["status"] == "fail" and fail["resource"]["source"] == (
        "terraform plan infra/plan.json")
    assert (fail["location"]["file"], fail["location"]["line"]) == (
        "infra/main.tf", line(ROOT, "retention = 0"))
    assert "keeps 0 day(s)" in fail["message"]
    assert backups["aws_db_instance.replica[0]"]["status"] == "unknown"  # never a pass
    (ssh,) = [f for f in report["findings"] if f["policy"] == "sg-no-world-admin"
              and f["status"] == "fail"]
    assert (ssh["resource"]["name"], ssh["location"]["line"]) == (  # the SSH rule's block
        "shop-db", line(ROOT, "ingress {", "postgres from the app"))
    assert _statuses(report, "db-ingress-from-app") == [("pass", n) for n in (
        "shop-a", "shop-b", "shop-replica-0", "shop-replica-1")]


# --- the config: which directory a plan is of --------------------------------------------

def test_a_plan_alone_is_of_its_own_folder(project: Project) -> None:
    root = project({"auditor.yaml": "service: s\nenvironments:\n  prod:\n"
                                    "    terraform: {plan: infra/plan.json}\n"})
    tf = load(str(root)).environments["prod"].terraform
    assert tf is not None and tf.dirs == ["infra"] and tf.plan_dir() == "infra"


def test_a_plan_among_several_dirs_is_of_the_one_holding_it(project: Project) -> None:
    root = project({"auditor.yaml": "service: s\nenvironments:\n  prod:\n    terraform:\n"
                                    "      dirs: [net, infra, infra/modules]\n"
                                    "      plan: ./infra/build/plan.json\n"})
    tf = load(str(root)).environments["prod"].terraform
    assert tf is not None and tf.plan_dir() == "infra"


@pytest.mark.parametrize(("terraform", "message"), [
    ("{dirs: [infra, net], plan: build/plan.json}",
     ":4: environments.prod.terraform.plan: the plan is inside none of dirs (infra, net): "
     "with several, it must be inside the directory it was made in"),
    ("{dirs: [infra], plan: infra/plan.json, var_files: [prod.tfvars]}",
     ":4: environments.prod.terraform.plan: var_files and vars do not apply to a plan: "
     "Terraform has already applied them (give them to terraform plan)"),
    ("{plan: ''}", ":4: environments.prod.terraform.plan: empty path"),
    ("{plan: [a.json]}", ":4: environments.prod.terraform.plan: Input should be a valid string"),
])
def test_a_plan_key_that_cannot_work_is_a_one_line_config_error(
        project: Project, run_cli: Run, terraform: str, message: str) -> None:
    root = project({"auditor.yaml": f"service: s\nenvironments:\n  prod:\n"
                                    f"    terraform: {terraform}\n"})
    with pytest.raises(ConfigError) as err:
        load(str(root))
    assert err.value.format_message().endswith(message)
    result = run_cli("scan", "--config", str(root))
    assert result.exit_code == 2 and result.stderr.count("\n") == 1


# --- a plan that cannot be read: one error, the other inputs still audited ------------------

NET = """
resource "aws_db_instance" "legacy" {
  identifier              = "legacy"
  backup_retention_period = 1
}
"""
TWO_DIRS = {**FILES, "net/main.tf": NET, "auditor.yaml": """
service: shop
environments:
  prod:
    terraform:
      dirs: [infra, net]
      plan: infra/plan.json
"""}


def _deep(levels: int) -> str:
    return '{"format_version": "1.2", "planned_values": ' + "[" * levels + "]" * levels + "}"


@pytest.mark.parametrize(("text", "message"), [
    ('{"format_version": "1.2",\n "planned_values": {', "infra/plan.json:2: invalid JSON: "),
    (json.dumps({**json.loads(shop_plan()), "format_version": "2.0"}),
     "infra/plan.json: plan format_version '2.0' is not supported (this auditor reads 1.x, "
     "from Terraform 1.1 and later)"),
    (json.dumps({"format_version": "1.0", "values": {"root_module": {}}}),
     "infra/plan.json: not a plan's JSON (a state, not a plan): make it with terraform plan "
     "-out tfplan && terraform show -json tfplan > plan.json"),
    ('["just", "a", "list"]', "infra/plan.json: not a Terraform JSON plan (no format_version)"),
    (json.dumps({"format_version": "1.2", "planned_values": {"root_module": {
        "resources": [{"address": "aws_db_instance.x", "mode": "managed", "name": "x"}]}}}),
     "infra/plan.json: malformed plan: planned_values.root_module.resources.0.type: "
     "Field required"),
    (json.dumps({**json.loads(shop_plan()), "errored": True}),
     "infra/plan.json: terraform plan failed, so this plan is incomplete: not read"),
    (_deep(500), "infra/plan.json: nested more than 100 levels deep: not read"),
    ("PK\x03\x04 a zip archive", "infra/plan.json: a binary plan file, not its JSON: run "
                                 "terraform show -json tfplan > plan.json"),
])
def test_a_bad_plan_is_one_error_and_the_rest_is_audited(
        project: Project, run_cli: Run, text: str, message: str) -> None:
    result = _scan(project, run_cli, TWO_DIRS, text, "--fail-on", "critical")
    assert result.exit_code == 3  # README: incomplete, nothing failed at the threshold
    report = result.json()
    (error,) = [f for f in report["findings"] if f["status"] == "error"]
    assert error["message"].startswith(message) and "\n" not in error["message"]
    assert error["resource"]["source"] == "terraform plan infra/plan.json"
    assert findings(report, "rds-backups") == [("fail", "legacy")]  # net/ is still read


def test_an_oversized_or_missing_plan_is_an_error_at_the_file(
        project: Project, run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    from auditor import project as project_module

    monkeypatch.setattr(project_module, "MAX_INPUT_BYTES", 1000)
    report = _scan(project, run_cli, TWO_DIRS, shop_plan(), "--fail-on", "never").json()
    (error,) = [f for f in report["findings"] if f["status"] == "error"]
    assert error["message"] == (f"infra/plan.json: {len(shop_plan()):,} bytes, more than the "
                                "1,000 a declared file may have: not read")
    assert findings(report, "rds-backups") == [("fail", "legacy")]
    monkeypatch.undo()
    root = project({**TWO_DIRS})
    (root / "infra" / "plan.json").unlink()
    # Not a config error (CI often makes the plan after checkout): that environment's own.
    report = run_cli("scan", "--config", str(root), "--format", "json").json()
    (error,) = [f for f in report["findings"] if f["status"] == "error"]
    assert error["message"] == ("infra/plan.json: plan file not found (make it with terraform "
                                "plan -out tfplan && terraform show -json tfplan > plan.json)")


# --- modules from a registry, and HCL that does not declare what the plan has -------------

REGISTRY_ROOT = """
module "alarm" {
  source     = "terraform-aws-modules/cloudwatch/aws//modules/metric-alarm"
  version    = "5.0.0"
  alarm_name = "shop-errors"
}
"""
ALARM_MODULE = """
variable "create_metric_alarm" { default = true }
variable "alarm_name" {}
resource "aws_cloudwatch_metric_alarm" "this" {
  count      = var.create_metric_alarm ? 1 : 0
  alarm_name = var.alarm_name
  threshold  = 5
}
"""
INSTALLED = ".terraform/modules/alarm/modules/metric-alarm"


def alarm_plan(extra: list[tuple[dict[str, Any], dict[str, Any]]] | None = None) -> str:
    alarm = planned("module.alarm.aws_cloudwatch_metric_alarm.this[0]",
                    "aws_cloudwatch_metric_alarm", "this",
                    {"alarm_name": "shop-errors", "threshold": 5}, index=0)
    return plan(extra or [], [{"address": "module.alarm", "resources": [(alarm, COMPUTED)]}],
                {"module_calls": {"alarm": {
                    "source": "terraform-aws-modules/cloudwatch/aws//modules/metric-alarm",
                    "version_constraint": "5.0.0",
                    "expressions": expressions(alarm_name="shop-errors"),
                    "module": {"resources": [configured(
                        "aws_cloudwatch_metric_alarm", "this", expressions(
                            alarm_name=["var.alarm_name"], threshold=5),
                        count_expression={"references": ["var.create_metric_alarm"]})]}}}})


def test_a_registry_module_is_located_where_terraform_init_put_it(collect: Any) -> None:
    manifest = json.dumps({"Modules": [
        {"Key": "", "Source": "", "Dir": "."},
        {"Key": "alarm", "Source": "registry.terraform.io/terraform-aws-modules/cloudwatch/aws"
         "//modules/metric-alarm", "Version": "5.0.0", "Dir": INSTALLED}]})
    out = collect({"auditor.yaml": CONFIG, "infra/main.tf": REGISTRY_ROOT,
                   "infra/.terraform/modules/modules.json": manifest,
                   f"infra/{INSTALLED}/main.tf": ALARM_MODULE}, alarm_plan())
    alarm = one(out.resources, "MetricAlarm", "shop-errors")
    assert alarm.address == "module.alarm.aws_cloudwatch_metric_alarm.this[0]"
    assert str(alarm.location) == f"infra/{INSTALLED}/main.tf:{line(ALARM_MODULE, 'resource')}"
    assert str(alarm.locate(("threshold",))) == (
        f"infra/{INSTALLED}/main.tf:{line(ALARM_MODULE, 'threshold')}")
    assert str(alarm.locate(("alarm_name",))) == (  # set by the caller
        f"infra/main.tf:{line(REGISTRY_ROOT, 'alarm_name')}")
    assert out.problems == []


def test_a_module_not_downloaded_points_at_its_call(collect: Any) -> None:
    out = collect({"auditor.yaml": CONFIG, "infra/main.tf": REGISTRY_ROOT}, alarm_plan())
    alarm = one(out.resources, "MetricAlarm", "shop-errors")
    assert str(alarm.location) == "infra/main.tf:1"  # module "alarm" {
    assert str(alarm.locate(("threshold",))) == "infra/main.tf:1"
    assert out.problems == []  # its values are the plan's: audited all the same


def test_a_resource_the_hcl_does_not_declare_is_a_plan_of_other_code(collect: Any) -> None:
    gone = planned("aws_db_instance.gone", "aws_db_instance", "gone",
                   {"identifier": "gone", "backup_retention_period": 7})
    out = collect({"auditor.yaml": CONFIG, "infra/main.tf": REGISTRY_ROOT},
                  alarm_plan([(gone, COMPUTED)]))
    db = _db(out, "gone")
    assert str(db.location) == f"auditor.yaml:{line(CONFIG, 'plan:')}"  # not the plan file
    (problem,) = out.problems
    assert problem.status == "error" and str(problem.location) == str(db.location)
    assert problem.message == (
        "infra/plan.json plans aws_db_instance.gone, which the HCL of infra does not declare: "
        "a plan of other code (make it again: terraform plan -out tfplan && terraform show "
        "-json tfplan > plan.json); its findings point here")


# --- references: which resource a value known only after apply names ---------------------

APPLIED = """
resource "aws_security_group" "app" {
  name = "shop-app"
}

resource "aws_security_group_rule" "ssh" {
  type              = "ingress"
  security_group_id = aws_security_group.app.id
  from_port         = 22
  to_port           = 22
  protocol          = "tcp"
  cidr_blocks       = ["0.0.0.0/0"]
}
"""


def test_known_ids_of_an_applied_stack_name_their_resources(collect: Any) -> None:
    """Nothing to create: every id is known, and a rule's group id is the group's."""
    rule = {"type": "ingress", "from_port": 22, "to_port": 22, "protocol": "tcp",
            "cidr_blocks": ["0.0.0.0/0"], "ipv6_cidr_blocks": None, "prefix_list_ids": None,
            "self": False, "description": None, "source_security_group_id": None}
    app = planned("aws_security_group.app", "aws_security_group", "app", {
        "id": "sg-0a1b2c", "arn": "arn:aws:ec2:eu-west-1:1:security-group/sg-0a1b2c",
        "name": "shop-app", "egress": [],
        "ingress": [{**rule, "ipv6_cidr_blocks": [], "prefix_list_ids": [],
                     "security_groups": [], "description": ""}]})  # the rule, read back
    ssh = planned("aws_security_group_rule.ssh", "aws_security_group_rule", "ssh",
                  {**rule, "id": "sgrule-42", "security_group_id": "sg-0a1b2c"})
    text = plan([(app, {}), (ssh, {})], configuration={"resources": [
        configured("aws_security_group", "app", expressions(name="shop-app")),
        configured("aws_security_group_rule", "ssh", expressions(
            type="ingress", from_port=22, to_port=22, protocol="tcp",
            cidr_blocks=["0.0.0.0/0"],
            security_group_id=["aws_security_group.app.id", "aws_security_group.app"]))]})
    out = collect({"auditor.yaml": CONFIG, "infra/main.tf": APPLIED}, text)
    (group,) = [r for r in out.resources if r.kind == "SecurityGroup"]  # none elsewhere
    assert group.name == "shop-app" and len(group.body["ingress"]) == 1  # not twice
    assert group.body["standalone_rules"] == {"ingress": ["aws_security_group_rule.ssh"],
                                              "egress": []}
    rule_line = line(APPLIED, "aws_security_group_rule")
    assert str(group.locate(("ingress", 0))) == f"infra/main.tf:{rule_line}"


SG_MODULE = """
variable "name" {}
variable "ingress_cidr_blocks" {}
variable "use_name_prefix" { default = false }

locals {
  this_sg_id = concat(
    aws_security_group.this.*.id, aws_security_group.this_name_prefix.*.id, [""])[0]
}

resource "aws_security_group" "this" {
  count = var.use_name_prefix ? 0 : 1
  name  = var.name
}

resource "aws_security_group" "this_name_prefix" {
  count       = var.use_name_prefix ? 1 : 0
  name_prefix = "${var.name}-"
}

resource "aws_security_group_rule" "ingress" {
  type              = "ingress"
  from_port         = 22
  to_port           = 22
  protocol          = "tcp"
  cidr_blocks       = var.ingress_cidr_blocks
  security_group_id = local.this_sg_id
}
"""
SG_ROOT = """
module "bastion" {
  source              = "./sg"
  name                = "bastion"
  ingress_cidr_blocks = ["0.0.0.0/0"]
}
"""


def test_a_rule_joins_its_group_through_a_modules_local(project: Project,
                                                        run_cli: Run) -> None:
    """The security-group module's idiom: the rule's group id is a local picking whichever
    group the module made; the plan leaves it unknown, the references say which."""
    group = planned("module.bastion.aws_security_group.this[0]", "aws_security_group", "this",
                    {"name": "bastion", "description": "Managed by Terraform"}, index=0)
    rule = planned("module.bastion.aws_security_group_rule.ingress", "aws_security_group_rule",
                   "ingress", {"type": "ingress", "from_port": 22, "to_port": 22,
                               "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"]})
    text = plan([], [{"address": "module.bastion", "resources": [
        (group, {**COMPUTED, "ingress": True, "egress": True}),
        (rule, {"id": True, "security_group_id": True})]}], {"module_calls": {"bastion": {
            "source": "./sg", "expressions": expressions(
                name="bastion", ingress_cidr_blocks=["0.0.0.0/0"]),
            "module": {"resources": [
                configured("aws_security_group", "this", expressions(name=["var.name"]),
                           count_expression={"references": ["var.use_name_prefix"]}),
                configured("aws_security_group", "this_name_prefix",
                           expressions(name_prefix=["var.name"])),
                configured("aws_security_group_rule", "ingress", expressions(
                    type="ingress", from_port=22, to_port=22, protocol="tcp",
                    cidr_blocks=["var.ingress_cidr_blocks"],
                    security_group_id=["local.this_sg_id"]))]}}}})
    files = {"auditor.yaml": CONFIG, "infra/main.tf": SG_ROOT, "infra/sg/main.tf": SG_MODULE}
    report = _scan(project, run_cli, files, text, "--fail-on", "never").json()
    (finding,) = [f for f in report["findings"] if f["policy"] == "sg-no-world-admin"]
    assert finding["status"] == "fail" and finding["resource"]["name"] == "bastion"
    assert finding["resource"]["address"] == "module.bastion.aws_security_group.this[0]"
    assert (finding["location"]["file"], finding["location"]["line"]) == (
        "infra/sg/main.tf", line(SG_MODULE, 'resource "aws_security_group_rule"'))


EITHER = """
variable "use_a" { default = true }
resource "aws_security_group" "a" { name = "a" }
resource "aws_security_group" "b" { name = "b" }
resource "aws_security_group_rule" "ssh" {
  type              = "ingress"
  security_group_id = var.use_a ? aws_security_group.a.id : aws_security_group.b.id
  from_port         = 22
  to_port           = 22
  protocol          = "tcp"
  cidr_blocks       = ["0.0.0.0/0"]
}
"""
SEVERAL = """
resource "aws_security_group" "web" {
  for_each = toset(["x", "y"])
  name     = "web-${each.key}"
}
resource "aws_security_group_rule" "ssh" {
  type              = "ingress"
  security_group_id = aws_security_group.web["x"].id
  from_port         = 22
  to_port           = 22
  protocol          = "tcp"
  cidr_blocks       = ["0.0.0.0/0"]
}
"""
SSH = {"type": "ingress", "from_port": 22, "to_port": 22, "protocol": "tcp",
       "cidr_blocks": ["0.0.0.0/0"]}
NEW_GROUP = {**COMPUTED, "ingress": True, "egress": True}


def _ssh_plan(groups: list[dict[str, Any]], references: list[str]) -> str:
    rule = planned("aws_security_group_rule.ssh", "aws_security_group_rule", "ssh", SSH)
    return plan([*((g, NEW_GROUP) for g in groups), (rule, {"id": True,
                                                            "security_group_id": True})],
                configuration={"resources": [configured(
                    "aws_security_group_rule", "ssh",
                    expressions(security_group_id=references))]})


def test_a_group_never_passes_while_a_rule_of_unknown_group_may_be_its_own(
        project: Project, run_cli: Run) -> None:
    text = _ssh_plan([planned(f"aws_security_group.{n}", "aws_security_group", n,
                              {"name": n}) for n in ("a", "b")],
                     ["var.use_a", "aws_security_group.a.id", "aws_security_group.a",
                      "aws_security_group.b.id", "aws_security_group.b"])
    report = _scan(project, run_cli, {"auditor.yaml": CONFIG, "infra/main.tf": EITHER}, text,
                   "--fail-on", "never").json()
    status = {n: s for s, n in _statuses(report, "sg-no-world-admin")}
    assert status["a"] == status["b"] == "unknown"
    messages = [f["message"] for f in report["findings"] if f["status"] == "unknown"
                and f["policy"] == "sg-no-world-admin"]
    assert len(messages) == 2 and all("aws_security_group_rule.ssh adds" in m for m in messages)
    assert list(status.values()).count("fail") == 1  # the rule itself is still audited


def test_a_rule_on_one_of_several_instances_never_lets_that_group_pass(
        project: Project, run_cli: Run) -> None:
    text = _ssh_plan([planned(f'aws_security_group.web["{k}"]', "aws_security_group", "web",
                              {"name": f"web-{k}"}, index=k) for k in ("x", "y")],
                     ['aws_security_group.web["x"].id', 'aws_security_group.web["x"]',
                      "aws_security_group.web"])
    report = _scan(project, run_cli, {"auditor.yaml": CONFIG, "infra/main.tf": SEVERAL}, text,
                   "--fail-on", "never").json()
    # The rule names one instance by Terraform's address: it is folded into web-x alone.
    assert _statuses(report, "sg-no-world-admin") == [("fail", "web-x"), ("pass", "web-y")]
