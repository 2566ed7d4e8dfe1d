"""Local module calls are followed (arguments as variables, ``module.NAME.`` addresses, the
module's own files); remote ones are reported, never silently skipped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from auditor import cache
from auditor.terraform import loader
from auditor.unknown import Unknown
from tests.terraform.conftest import Scan, findings, one

ROOT = """
variable "env" { default = "prod" }
resource "aws_security_group" "db" {
  name = "shop-db"
}
module "rds" {
  source = "./modules/db"
  name   = "shop-${var.env}"
  sg_id  = aws_security_group.db.id
}
module "off" {
  source = "./modules/db"
  count  = 0
  name   = "never"
}
module "vpc" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "5.0.0"
}
"""
DB = """
variable "name" {}
variable "sg_id" {}
variable "retention" {}
resource "aws_db_instance" "this" {
  identifier              = var.name
  publicly_accessible     = true
  backup_retention_period = var.retention
  vpc_security_group_ids  = [var.sg_id, aws_security_group.own.id]
}
resource "aws_security_group" "own" {
  name = "${var.name}-own"
}
module "alarms" {
  source = "../alarms"
  db     = var.name
}
"""
ALARMS = """
variable "db" {}
resource "aws_cloudwatch_metric_alarm" "cpu" {
  alarm_name = "${var.db}-cpu"
}
"""
FILES = {"tf/main.tf": ROOT, "tf/modules/db/main.tf": DB, "tf/modules/alarms/main.tf": ALARMS}


def test_local_modules_are_read_with_their_arguments(scan: Scan) -> None:
    out = scan(FILES)
    db = one(out.resources, "DBInstance", "shop-prod")
    assert db.address == "module.rds.aws_db_instance.this"
    assert str(db.location) == "tf/modules/db/main.tf:4"
    assert str(db.locate(("publicly_accessible",))) == "tf/modules/db/main.tf:6"
    # A group passed in keeps the caller's name; the module's own group its own.
    assert db.body["vpc_security_group_ids"] == ["shop-db", "shop-prod-own"]
    retention = db.body["backup_retention_period"]  # not passed, no default
    assert isinstance(retention, Unknown) and "module.rds" in retention.reason
    alarm = one(out.resources, "MetricAlarm", "shop-prod-cpu")  # a module's module
    assert alarm.address == "module.rds.module.alarms.aws_cloudwatch_metric_alarm.cpu"
    assert not any(r.name == "never" for r in out.resources)  # count = 0: no instance
    assert out.names["db_identifier"] == "shop-prod"


def test_a_remote_module_is_an_unknown_input_not_an_error(scan: Scan) -> None:
    (problem,) = scan(FILES).problems
    assert problem.status == "unknown"
    assert problem.message == ("module.vpc (terraform-aws-modules/vpc/aws) is not downloaded "
                               "here: run `terraform init` before the scan so its resources "
                               "are audited (modules are never fetched)")
    assert str(problem.location) == "tf/main.tf:16"


def test_module_findings_and_the_remote_module_in_the_report(report: Scan) -> None:
    out = report(FILES)
    assert findings(out, "rds-deletion-protection") == [("fail", "shop-prod")]
    (unread,) = [f for f in out["findings"] if f["policy"] == "input-error"]
    assert unread["status"] == "unknown" and unread["title"] == "Input not audited offline"


def test_module_cycles_and_depth_are_capped(scan: Scan) -> None:
    files = {"tf/main.tf": 'module "loop" {\n  source = "./a"\n}\n',
             "tf/a/main.tf": 'module "back" {\n  source = "../"\n}\n'
                             'resource "aws_lb" "a" {\n  name = "a"\n}\n'}
    for level in range(1, 8):  # tf/d1/d2/.../d7, each with one load balancer
        path = "tf/" + "/".join(f"d{i}" for i in range(1, level + 1))
        files[f"{path}/main.tf"] = (f'resource "aws_lb" "l" {{\n  name = "d{level}"\n}}\n'
                                    f'module "next" {{\n  source = "./d{level + 1}"\n}}\n')
    files["tf/main.tf"] += 'module "deep" {\n  source = "./d1"\n}\n'
    out = scan(files)
    names = sorted(r.name for r in out.resources)
    assert names == ["a", "d1", "d2", "d3", "d4", "d5"]  # five levels of modules
    by_status = sorted((p.status, p.message.split(" (")[0]) for p in out.problems)
    assert by_status == [("error", "module back"), ("unknown", "module next")]
    assert any("cycle" in p.message for p in out.problems)


def test_a_missing_local_module_is_an_error_at_the_call(scan: Scan) -> None:
    (problem,) = scan('module "net" {\n  source = "./net"\n}\n').problems
    assert problem.status == "error" and str(problem.location) == "tf/main.tf:2"
    assert problem.message == "module net (./net): directory tf/net not found"


def test_resources_of_a_module_with_unknown_instances_say_so(scan: Scan) -> None:
    out = scan({"tf/main.tf": 'module "m" {\n  source   = "./m"\n  for_each = var.regions\n}\n',
                "tf/m/main.tf": 'resource "aws_lb" "x" {\n  name = "x"\n}\n'})
    instances = one(out.resources, "LoadBalancer", "x").body["instances"]
    assert isinstance(instances, Unknown)
    assert instances.reason.startswith("for_each of module.m is not known offline")


OUTPUTS = {
    "tf/main.tf": """
    module "network" {
      source = "./network"
    }
    module "db" {
      source = "./db"
      groups = [module.network.db_group_id]
      public = module.network.public
    }
    module "many" {
      source = "./network"
      count  = 2
    }
    module "remote" {
      source = "terraform-aws-modules/security-group/aws"
    }
    resource "aws_db_instance" "other" {
      identifier             = "other"
      vpc_security_group_ids = [module.many[0].db_group_id]
      port                   = module.remote.port
    }
    """,
    "tf/network/main.tf": """
    module "inner" {
      source = "./inner"
    }
    resource "aws_security_group" "db" {
      name = "db-${module.inner.suffix}"
    }
    output "db_group_id" { value = aws_security_group.db.id }
    output "public" { value = false }
    """,
    "tf/network/inner/main.tf": 'output "suffix" { value = "prod" }\n',
    "tf/db/main.tf": """
    variable "groups" {}
    variable "public" {}
    resource "aws_db_instance" "this" {
      identifier             = "shop"
      vpc_security_group_ids = var.groups
      publicly_accessible    = var.public
    }
    """,
}


def test_module_outputs_flow_to_their_callers(scan: Scan) -> None:
    out = scan(OUTPUTS)
    db = one(out.resources, "DBInstance", "shop").body
    # Through two modules and back: the group's name is the inner module's output too.
    assert db["vpc_security_group_ids"] == ["db-prod"]
    assert db["publicly_accessible"] is False
    other = one(out.resources, "DBInstance", "other").body
    assert other["vpc_security_group_ids"] == ["db-prod"]  # module.many[0]: one instance's
    assert isinstance(other["port"], Unknown)
    assert "run `terraform init`" in other["port"].reason


def test_a_downloaded_registry_module_is_read_where_terraform_init_put_it(report: Scan) -> None:
    """.terraform/modules/modules.json, as `terraform init` writes it, for a registry
    module and the local module inside it."""
    out = report({
        "tf/main.tf": 'module "sg" {\n  source  = "terraform-aws-modules/security-group/aws"\n'
                      '  version = "5.1.0"\n  name    = "bastion"\n}\n',
        "tf/.terraform/modules/modules.json": (
            '{"Modules":[{"Key":"","Source":"","Dir":"."},'
            '{"Key":"sg","Source":"registry.terraform.io/terraform-aws-modules/security-group'
            '/aws","Version":"5.1.0","Dir":".terraform/modules/sg"},'
            '{"Key":"sg.rules","Source":"./rules","Dir":".terraform/modules/sg/rules"}]}'),
        "tf/.terraform/modules/sg/main.tf": (
            'variable "name" {}\nresource "aws_security_group" "this" {\n  name = var.name\n}\n'
            'module "rules" {\n  source   = "./rules"\n'
            '  group_id = aws_security_group.this.id\n}\n'),
        "tf/.terraform/modules/sg/rules/main.tf": (
            'variable "group_id" {}\nresource "aws_security_group_rule" "ssh" {\n'
            '  type              = "ingress"\n  from_port         = 22\n  to_port           = 22\n'
            '  protocol          = "tcp"\n  cidr_blocks       = ["0.0.0.0/0"]\n'
            '  security_group_id = var.group_id\n}\n'),
    })
    assert findings(out, "sg-no-world-admin") == [("fail", "bastion")]
    assert not [f for f in out["findings"] if f["policy"] == "input-error"]
    [fail] = [f for f in out["findings"] if f["policy"] == "sg-no-world-admin"]
    assert fail["location"]["file"] == "tf/.terraform/modules/sg/rules/main.tf"


def test_file_functions_read_relative_to_the_module(report: Scan) -> None:
    out = report({
        "tf/main.tf": 'module "db" {\n  source = "./db"\n}\n',
        "tf/db/main.tf": (
            'locals {\n  settings = jsondecode(file("${path.module}/settings.json"))\n}\n'
            'resource "aws_db_instance" "this" {\n  identifier = "shop"\n'
            '  manage_master_user_password = true\n'
            '  backup_retention_period = local.settings.retention\n}\n'),
        "tf/db/settings.json": '{"retention": 3}\n',
    })
    [fail] = [f for f in out["findings"] if f["policy"] == "rds-backups"]
    assert "keeps 3 day(s)" in fail["message"]


def test_a_module_with_for_each_makes_one_instance_per_key(report: Scan) -> None:
    out = report({
        "tf/main.tf": """
        module "db" {
          source    = "./db"
          for_each  = { orders = 1, billing = 14 }
          name      = each.key
          retention = each.value
        }
        module "none" {
          source = "./db"
          count  = 0
          name   = "none"
        }
        resource "aws_lb" "front" {
          name = "front-${module.db["billing"].identifier}"
        }
        """,
        "tf/db/main.tf": """
        variable "name" {}
        variable "retention" { default = 7 }
        resource "aws_db_instance" "this" {
          identifier                  = "shop-${var.name}"
          manage_master_user_password = true
          backup_retention_period     = var.retention
        }
        output "identifier" { value = aws_db_instance.this.identifier }
        """})
    assert findings(out, "rds-backups") == [("fail", "shop-orders")]
    addresses = {p["resource"]["address"] for p in out["passed"] if p["policy"] == "rds-backups"}
    assert addresses == {'module.db["billing"].aws_db_instance.this'}



def test_an_instance_of_a_module_gives_its_own_outputs(scan: Scan) -> None:
    out = scan({
        "tf/main.tf": 'module "db" {\n  source   = "./db"\n  for_each = toset(["a", "b"])\n'
                      '  name     = each.key\n}\n'
                      'resource "aws_lb" "front" {\n  name = module.db["b"].identifier\n}\n',
        "tf/db/main.tf": 'variable "name" {}\n'
                         'output "identifier" { value = "shop-${var.name}" }\n'})
    assert one(out.resources, "LoadBalancer", "shop-b").address == "aws_lb.front"


def test_each_call_of_a_module_not_downloaded_is_its_own_notice(scan: Scan) -> None:
    out = scan({
        "tf/main.tf": 'module "a" {\n  source = "./m"\n}\nmodule "b" {\n  source = "./m"\n}\n',
        "tf/m/main.tf": 'module "kms" {\n  source = "terraform-aws-modules/kms/aws"\n}\n'})
    assert sorted(p.message.split(" (")[0] for p in out.problems) == [
        "module.a.module.kms", "module.b.module.kms"]


def test_a_module_called_many_times_is_parsed_once_and_each_call_keeps_its_own_address(
        scan: Scan, monkeypatch: pytest.MonkeyPatch) -> None:
    parses: list[str] = []
    real = loader._parse_hcl

    def counted(text: str, shown: str) -> Any:
        parses.append(shown)
        return real(text, shown)

    monkeypatch.setattr(loader, "_parse_hcl", counted)
    monkeypatch.setenv(cache.ENV_OFF, "1")  # within one run, without the persistent cache
    loader._parsed.cache_clear()
    out = scan({
        "tf/main.tf": "".join(f'module "db{i}" {{\n  source = "./db"\n  name = "n{i}"\n}}\n'
                              for i in range(3)),
        "tf/db/main.tf": 'variable "name" {}\n'
                         'resource "aws_db_instance" "this" { identifier = var.name }\n'})
    assert len(parses) == 2  # tf/main.tf and tf/db/main.tf, once each
    assert {r.address for r in out.resources if r.kind == "DBInstance"} == {
        f"module.db{i}.aws_db_instance.this" for i in range(3)}
    assert {r.name for r in out.resources if r.kind == "DBInstance"} == {"n0", "n1", "n2"}


def test_parses_are_kept_by_content_so_an_edited_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "main.tf"
    path.write_text('resource "aws_db_instance" "a" { multi_az = true }\n')
    (first,), _ = loader.load_file(path, "main.tf")
    path.write_text('resource "aws_db_instance" "a" { multi_az = false }\n')
    (second,), _ = loader.load_file(path, "main.tf")
    assert first.attrs == {"multi_az": True} and second.attrs == {"multi_az": False}
    # The same text under another name (a module read from another environment) is the
    # same parse, with that name in every location.
    (other,), _ = loader.load_file(path, "other.tf")
    assert other.file == "other.tf" and second.file == "main.tf"
    assert other.attrs is second.attrs


SIBLINGS = {  # each module's argument is the other's output, as terraform-aws-alb's example
    "tf/main.tf": 'module "a" {\n  source = "./a"\n  peer   = module.b.name\n}\n'
                  'module "b" {\n  source = "./b"\n  peer   = module.a.name\n}\n',
    "tf/a/main.tf": 'variable "peer" {}\n'
                    'resource "aws_lb" "a" {\n  name = "a"\n  tags = { peer = var.peer }\n}\n'
                    'output "name" { value = aws_lb.a.name }\n',
    "tf/b/main.tf": 'variable "peer" {}\n'
                    'resource "aws_lb" "b" {\n  name = "b"\n  tags = { peer = var.peer }\n}\n'
                    'output "name" { value = aws_lb.b.name }\n'}


def test_sibling_modules_reading_each_others_outputs_are_both_read(
        scan: Scan, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    real = loader.load_dir

    def counted(directory: Path, rel: Any) -> Any:
        opened.append(directory.name)
        return real(directory, rel)

    monkeypatch.setattr(loader, "load_dir", counted)
    out = scan(SIBLINGS)
    assert out.problems == []
    # Each module opened once: evaluated up front, each call's arguments opened the other
    # module again, until the stack ran out (and a file parsed there was "too deep").
    assert sorted(opened) == ["a", "b", "tf"]
    assert one(out.resources, "LoadBalancer", "a").body["tags"] == {"peer": "b"}
    assert one(out.resources, "LoadBalancer", "b").body["tags"] == {"peer": "a"}


def test_values_that_go_round_through_module_outputs_are_unknown(scan: Scan) -> None:
    files = dict(SIBLINGS)  # now each output is the module's own argument: no value at all
    for side in "ab":
        files[f"tf/{side}/main.tf"] = files[f"tf/{side}/main.tf"].replace(
            f"value = aws_lb.{side}.name", "value = var.peer")
    out = scan(files)
    assert out.problems == []
    tags = one(out.resources, "LoadBalancer", "a").body["tags"]["peer"]
    assert isinstance(tags, Unknown)
    assert "depends on itself through module outputs" in tags.reason


def test_a_parse_begun_deep_in_the_stack_is_judged_on_its_own(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setenv(cache.ENV_OFF, "1")  # parsed here, not read back
    text = 'resource "aws_lb" "deep" {\n  name = "x"\n}\n'
    nested = "locals {\n  v = " + "[" * 3000 + "]" * 3000 + "\n}\n"

    def at_depth(levels: int, fn: Any) -> Any:
        return fn() if levels == 0 else at_depth(levels - 1, fn)

    as_json = '{"resource": {"aws_lb": {"deep": {"tags": {"a": {"b": {"c": 1}}}}}}}'
    # A few frames short of the limit: the parse itself runs out of stack.
    room = sys.getrecursionlimit() - len(_frames()) - 40
    for source, json in ((text, False), (as_json, True)):
        loader._parsed.cache_clear()
        blocks, error = at_depth(room, lambda s=source, j=json: loader._parsed(s, j))
        assert error is None and [b.labels for b in blocks] == [["aws_lb", "deep"]], json
    loader._parsed.cache_clear()
    assert loader._parsed(nested, False)[1].message == loader.TOO_DEEP


def _frames() -> list[Any]:
    import inspect

    return inspect.stack(0)


def test_a_variable_read_too_deep_in_the_stack_is_not_kept_unknown(tmp_path: Path) -> None:
    import sys

    from auditor.terraform.scope import ModuleScope

    (tmp_path / "main.tf").write_text('variable "ports" {\n  default = [for p in [1, 2] : p]\n}\n')
    blocks, _ = loader.load_file(tmp_path / "main.tf", "main.tf")
    scope = ModuleScope(blocks, {})

    def at_depth(levels: int) -> Any:
        return scope.variable("ports") if levels == 0 else at_depth(levels - 1)

    deep = at_depth(sys.getrecursionlimit() - len(_frames()) - 15)
    assert isinstance(deep, Unknown) and "nested too deeply" in deep.reason
    assert scope.variable("ports") == [1, 2]  # read again where there is room
