"""``auditor.yaml``: the service, its environments and where their config lives.

Validated by pydantic; every error names the file, the key and its line, one line each
(every mistake at once). Paths in the file are relative to the file's directory.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Sequence
from pathlib import Path as FsPath
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from auditor.errors import ConfigError, where
from auditor.paths import Path, parse
from auditor.quantities import duration, parse_quantity
from auditor.yamlfile import YamlError, decode, load_one, nearest_line

DEFAULT_NAME = "auditor.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# What Helm and Kubernetes accept (Helm's release name rule; a DNS-1123 label). Checked
# here so a name can only ever be a name: these values reach Helm's command line.
_RELEASE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_ANCHOR = re.compile(r"[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*/#[A-Za-z0-9_-]+")


def _namespace(value: str | None) -> str | None:
    if value is not None and not (len(value) <= 63 and _LABEL.fullmatch(value)):
        raise ValueError("not a Kubernetes namespace name: lowercase letters, digits and "
                         "'-', starting and ending with a letter or digit, at most 63 "
                         "characters")
    return value


class HelmConfig(_Strict):
    chart: str = Field(description="Chart directory.")
    release: str
    namespace: str = "default"
    values: list[str] = Field(default_factory=list, description="Values files; later win.")
    set: dict[str, Any] = Field(default_factory=dict, description="Like helm --set.")

    @field_validator("release")
    @classmethod
    def _release(cls, value: str) -> str:
        if not (len(value) <= 53 and _RELEASE.fullmatch(value)):
            raise ValueError("not a Helm release name: lowercase letters, digits, '-' and "
                             "'.', starting and ending with a letter or digit, at most 53 "
                             "characters")
        return value

    _ns = field_validator("namespace")(_namespace)


class TerraformConfig(_Strict):
    dirs: list[str] = Field(default_factory=list)
    var_files: list[str] = Field(default_factory=list, description="*.tfvars; later win.")
    vars: dict[str, Any] = Field(default_factory=dict)
    plan: str | None = Field(
        None, description="The JSON of a saved plan (terraform show -json tfplan > plan.json): "
        "the values of the directory it was made in (the one of dirs holding it, the only "
        "one, else its own folder) are Terraform's; that directory's HCL gives locations.")

    @field_validator("plan")
    @classmethod
    def _plan(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Which directory the plan is of must be clear now, not at scan time."""
        if value is None:
            return None
        if not value.strip():
            raise ValueError("empty path")
        dirs = info.data.get("dirs") or []
        if cls._plan_dir(value, dirs) is None:
            raise ValueError(f"the plan is inside none of dirs ({', '.join(dirs)}): with "
                             "several, it must be inside the directory it was made in")
        if (info.data.get("var_files") or info.data.get("vars")) and len(dirs) <= 1:
            raise ValueError("var_files and vars do not apply to a plan: Terraform has "
                             "already applied them (give them to terraform plan)")
        return value

    @model_validator(mode="after")
    def _plan_alone(self) -> TerraformConfig:
        if self.plan is not None and not self.dirs:  # a plan alone: its own folder's HCL
            self.dirs = [posixpath.dirname(posixpath.normpath(self.plan)) or "."]
        return self

    def reads(self) -> tuple[list[str], list[str]]:
        """(files, directories) this reads, as the config names them: the one list that
        --output refusal and pre-commit both go by."""
        return [*self.var_files, *([self.plan] if self.plan is not None else [])], self.dirs

    def plan_dir(self) -> str | None:
        """The entry of ``dirs`` the plan was made in (its values replace that HCL's)."""
        return self._plan_dir(self.plan, self.dirs) if self.plan is not None else None

    @staticmethod
    def _plan_dir(plan: str, dirs: list[str]) -> str | None:
        """The only dir, else the nearest holding the plan; none given: the plan's folder."""
        if len(dirs) <= 1:
            return dirs[0] if dirs else posixpath.dirname(posixpath.normpath(plan)) or "."
        path = posixpath.normpath(plan)
        holding = []
        for entry in dirs:
            directory = posixpath.normpath(entry)
            if (path.startswith(directory.rstrip("/") + "/") if directory != "." else
                    not (path.startswith("../") or posixpath.isabs(path))):
                holding.append((len(directory), entry))
        return max(holding)[1] if holding else None


class KubernetesConfig(_Strict):
    context: str | None = Field(None, description="kubeconfig context; in-cluster if unset "
                                "and running in a pod.")
    kubeconfig: str | None = Field(None, description="Path; default KUBECONFIG or ~/.kube.")
    namespace: str | None = Field(None, description="Default: the Helm release's namespace.")

    _ns = field_validator("namespace")(_namespace)


class AwsConfig(_Strict):
    """Region and profile, plus names to audit where no Terraform declares them."""

    region: str | None = None
    profile: str | None = None
    security_groups: list[str] = Field(default_factory=list)
    db_instances: list[str] = Field(default_factory=list)
    db_clusters: list[str] = Field(default_factory=list, description="Aurora or Multi-AZ DB "
                                   "cluster identifiers.")
    parameter_groups: list[str] = Field(default_factory=list)
    eks_cluster: str | None = None
    nodegroups: list[str] = Field(default_factory=list)
    target_groups: list[str] = Field(default_factory=list)
    load_balancers: list[str] = Field(default_factory=list)
    certificates: list[str] = Field(default_factory=list, description="Domain names or ARNs.")
    secrets: list[str] = Field(default_factory=list)
    cloudtrail: bool = Field(default=True, description="Look up who changed drifted security "
                             "groups, parameter groups, node groups and target groups in "
                             "CloudTrail (LookupEvents, 2 calls a second).")


class ValuesKeys(_Strict):
    """Where the service's chart keeps settings that no two charts name alike."""

    pool_size: str | None = Field(
        default=None, description="Values key of the database connection pool size per pod, e.g. "
        "database.pool.size (turns on db-connection-capacity).")
    log_retention: str | None = Field(
        default=None, description="Values key of the log retention, e.g. logging.retention (turns "
        "on log-retention).")
    pdb: str | None = Field(
        default=None, description="Values key that turns the PodDisruptionBudget on, e.g. "
        "podDisruptionBudget.enabled (pdb-present points there).")

    @field_validator("pool_size", "log_retention", "pdb")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        """A key that does not parse would only fail at scan time, far from its line."""
        if value is not None:
            try:
                parse(value)
            except ValueError:
                raise ValueError(f"{value!r} is not a values key (e.g. database.pool.size, "
                                 'or podAnnotations["a.b/c"])') from None
            if not value.strip():
                raise ValueError("empty values key")
        return value


class Facts(_Strict):
    """What is true of this service and of no other: its runbook's numbers and names.

    The policy pack's defaults hold for any workload; a check that needs one of these facts
    is not applicable until the service states it (the report says which key turns it on).
    """

    ready_path: str | None = Field(
        default=None, description="HTTP path that answers 200 only when the service can "
        "serve, e.g. /health/ready: readiness probes and load balancer health checks use it.")
    time_to_ready: int | None = Field(
        default=None, ge=0, le=86400, description="Seconds the service needs after start before it "
        "can be ready (e.g. loading a cache): probes must not give up or kill it sooner.")
    max_probe_period: int | None = Field(
        default=None, ge=1, le=3600, description="Longest acceptable readiness probe period, in "
        "seconds: how long a pod may stay in or out of rotation on stale news.")
    min_memory_limit: str | None = Field(
        default=None, description="Smallest memory limit the service's containers can work with, a "
        "Kubernetes quantity (e.g. 512Mi).")
    serving_container: str | None = Field(
        default=None, description="The container that serves traffic, when it is not the one named "
        "like the workload (else the first with ports).")
    max_log_retention: str | None = Field(
        default=None, description="Longest log retention the service can afford (e.g. 7d, "
        "168h): log-retention fails a longer one.")
    singletons: list[str] = Field(
        default_factory=list, description="Workloads (names, or Kind/name) that run one "
        "replica by design: no HPA or PodDisruptionBudget is expected of them.")
    values_keys: ValuesKeys = Field(default_factory=lambda: ValuesKeys())

    @field_validator("min_memory_limit")
    @classmethod
    def _quantity(cls, value: str | None) -> str | None:
        if value is not None and parse_quantity(value) is None:
            raise ValueError("not a Kubernetes quantity (e.g. 512Mi, 1Gi)")
        return value

    @field_validator("max_log_retention")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None and duration(value) is None:
            raise ValueError("not a duration (e.g. 7d, 168h, 2w)")
        return value

    @field_validator("ready_path")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise ValueError("an HTTP path starts with '/'")
        return value

    def flat(self) -> dict[str, Any]:
        """``{"ready_path": ..., "values_keys.pool_size": ...}``: the facts that are set."""
        out: dict[str, Any] = {}
        for name, value in self.model_dump().items():
            if isinstance(value, dict):
                out.update({f"{name}.{k}": v for k, v in value.items() if v is not None})
            elif value not in (None, []):
                out[name] = value
        return out


FACTS = (*(n for n in Facts.model_fields if n != "values_keys"),
         *(f"values_keys.{n}" for n in ValuesKeys.model_fields))


class PolicySelection(_Strict):
    """Which policies every run of this config evaluates (the command line's --policy,
    --skip-policy and --min-severity replace the key they name)."""

    policy: list[str] = Field(default_factory=list, description="Only these policy ids "
                              "(globs allowed, e.g. 'rds-*'). [default: every policy]")
    skip_policy: list[str] = Field(default_factory=list, description="Not these ids (globs).")
    min_severity: Literal["low", "medium", "high", "critical"] | None = Field(
        None, description="Only policies of this severity or above.")


class Environment(_Strict):
    helm: HelmConfig | None = None
    manifests: list[str] = Field(default_factory=list)
    terraform: TerraformConfig | None = None
    kubernetes: KubernetesConfig | None = None
    aws: AwsConfig | None = None
    endpoints: list[str] = Field(default_factory=list)
    params: dict[str, dict[str, Any] | Any] = Field(
        default_factory=dict,
        description="Policy parameter overrides: {param: value} for all policies, or "
        "{policy-id: {param: value}} for one.",
    )
    facts: Facts | None = Field(None, description="Facts of the service that differ in this "
                                "environment (each one given wins over the service's).")


class Config(_Strict):
    service: str
    facts: Facts = Field(default_factory=lambda: Facts(), description="The service's own facts.")
    environments: dict[str, Environment] = Field(min_length=1)
    site_url: str = Field(
        "http://127.0.0.1:8000/",
        description="Where the runbook site is served; runbook links in reports use it.",
    )
    waivers: str | None = Field(
        None, description="Waiver file. [default: .auditor-waivers.yaml here, if present]")
    runbook: str | None = Field(
        None, description="The team's runbook: a folder of Markdown pages (a mkdocs.yml "
        "beside it gives their order). [default: site/ here, if present; else a runbook "
        "generated from the policy pack]")
    policies: PolicySelection | None = Field(
        None, description="Which policies to evaluate. [default: every policy]")
    runbook_sections: dict[str, str] = Field(
        default_factory=dict, description="Which section guards which policy: "
        "{policy-id: page/#heading-id}; wins over the pages' own claims.")
    # Set by load(), not by the file.
    base_dir: FsPath = Field(default=FsPath("."), exclude=True)
    file: str = Field(default=DEFAULT_NAME, exclude=True)
    lines: dict[Path, int] = Field(default_factory=dict, exclude=True)

    def facts_for(self, env_name: str) -> dict[str, Any]:
        """The service's facts with the environment's on top (flat keys, set ones only)."""
        own = self.environments[env_name].facts
        return {**self.facts.flat(), **(own.flat() if own else {})}

    def line_of(self, key: Path) -> int | None:
        return self.lines.get(key)

    def error_at(self, key: Path, message: str) -> ConfigError:
        """``file:line: a.b.c: message`` for ``key`` (at its line, else its parent's)."""
        return ConfigError(f"{where(self.file, nearest_line(self.lines, key))}: {_dotted(key)}: "
                           f"{message}")

    def inputs(self) -> tuple[list[FsPath], list[FsPath]]:
        """(files, directories) every environment reads: what no output may replace."""
        files = [self.base_dir / FsPath(self.file).name, self.path(self.waivers or
                                                                  ".auditor-waivers.yaml")]
        dirs: list[FsPath] = [self.path(self.runbook)] if self.runbook else []
        for env in self.environments.values():
            if env.helm:
                dirs.append(self.path(env.helm.chart))
                files += [self.path(v) for v in env.helm.values]
            if env.terraform:
                tf_files, tf_dirs = env.terraform.reads()
                dirs += [self.path(d) for d in tf_dirs]
                files += [self.path(f) for f in tf_files]  # the plan too, wherever it is
            for entry in env.manifests:
                path = self.path(entry)
                (dirs if path.is_dir() else files).append(path)
            if env.kubernetes and env.kubernetes.kubeconfig:
                files.append(self.path(os.path.expanduser(env.kubernetes.kubeconfig)))
        return files, dirs

    def absent(self, environments: Sequence[str] = ()) -> list[str]:
        """Each file or folder an environment (of ``environments``; none: all) names that
        is not there (a typo, or a path from the wrong folder), as ``file:line: key:
        message``: said at its key before a scan starts, not found later as an input it
        could not read. Not a Terraform plan: CI often makes it after checkout, and a
        missing one is that environment's own error (with how to make it)."""
        out = []
        base = str(self.base_dir)
        for name, env in self.environments.items():
            if environments and name not in environments:
                continue
            for key, entry, role in named_paths(name, env):
                path = os.path.join(base, entry)
                if role == "plan" or os.path.exists(path):  # a fleet names thousands
                    continue
                why = ("is a link to nothing" if os.path.lexists(path) else
                       "does not exist (paths are relative to the config's folder)")
                out.append(self.error_at(key, f"{ROLES[role]} {entry} {why}").message)
        return out

    def config_rel(self) -> str:
        return self.rel(self.base_dir / FsPath(self.file).name)

    @field_validator("runbook_sections")
    @classmethod
    def _sections(cls, value: dict[str, str]) -> dict[str, str]:
        for policy_id, anchor in value.items():
            if not _ANCHOR.fullmatch(anchor):
                raise ValueError(f"{policy_id}: {anchor!r} is not PAGE/#HEADING-ID (e.g. "
                                 "common-issues/high-latency/#scale-up-pods)")
        return value

    @field_validator("site_url")
    @classmethod
    def _slash(cls, url: str) -> str:
        return url if url.endswith("/") else url + "/"  # runbook anchors are appended

    def path(self, relative: str) -> FsPath:
        """Where the config points (``..`` folded, links not followed: a link is what the
        config names, and auditor.project decides whether what it leads to may be read)."""
        return FsPath(os.path.abspath(self.base_dir / relative))

    def rel(self, path: FsPath | str) -> str:
        """A path for reports: relative to the config's directory (with ``..`` when outside
        it), so reports and fingerprints are the same in every checkout."""
        p = FsPath(os.path.abspath(path))  # a link by its own name, as the config has it
        try:
            return FsPath(os.path.relpath(p, self.base_dir.resolve())).as_posix()
        except ValueError:  # another drive (Windows): no relative path exists
            return p.as_posix()


def resolve_path(arg: str | None) -> FsPath:
    """``--config``: a file, or a directory meaning its auditor.yaml; default ./auditor.yaml."""
    path = FsPath(arg) if arg else FsPath(DEFAULT_NAME)
    if path.is_dir():
        path = path / DEFAULT_NAME
    return path


def load(arg: str | None) -> Config:
    path = resolve_path(arg)
    shown = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{shown}: config file not found (see `auditor scan --help`)") from None
    except OSError as exc:
        raise ConfigError(f"{shown}: cannot read config file: {exc.strerror}") from None
    try:
        doc = load_one(decode(raw))
    except YamlError as exc:
        if exc.path:  # a duplicate key
            raise ConfigError(f"{where(shown, exc.line)}: {_dotted(exc.path)}: {exc}") from None
        raise ConfigError(f"{where(shown, exc.line)}: invalid YAML: {exc}") from None
    if not isinstance(doc.data, dict):
        raise ConfigError(f"{where(shown, doc.line)}: the config must be a mapping")
    try:
        config = Config.model_validate(doc.data)
    except ValidationError as exc:
        raise ConfigError(*_describe(exc, shown, doc.lines)) from None
    config.base_dir = path.parent.resolve()
    config.file = shown
    config.lines = doc.lines
    _check(config)
    return config


def _check(config: Config) -> None:
    """What the models cannot say alone: every environment audits something, and ``set``
    keys are keys that ``helm --set`` reads."""
    for name, env in config.environments.items():
        at = ("environments", name)
        declared = env.helm is not None or env.manifests or (env.terraform and env.terraform.dirs)
        live = env.kubernetes is not None or env.aws is not None or env.endpoints
        if not declared and not live:  # live-only environments are fine (`auditor audit`)
            raise config.error_at(at, f"environment {name} declares nothing to audit: "
                                      "add helm, manifests, terraform, kubernetes, aws or "
                                      "endpoints")
        for key in env.helm.set if env.helm else {}:
            from auditor.sources.helm_values import parse_set_key  # sources import this

            try:
                valid = bool(parse_set_key(key))
            except ValueError:
                valid = False
            if not valid:
                line = nearest_line(config.lines, (*at, "helm", "set", key))
                raise ConfigError(f"{where(config.file, line)}: environments.{name}.helm.set: "
                                  f"invalid --set key {key!r}")


def named_paths(name: str, env: Environment) -> list[tuple[Path, str, str]]:
    """(key, path, role) of every file and folder environment ``name`` reads, as the
    config names them; the role is the key's field (a :data:`ROLES` key)."""
    at: Path = ("environments", name)
    named: list[tuple[Path, str, str]] = []
    if env.helm:
        named.append(((*at, "helm", "chart"), env.helm.chart, "chart"))
        named += [((*at, "helm", "values", i), v, "values") for i, v in enumerate(env.helm.values)]
    if env.terraform:
        tf = env.terraform
        named += [((*at, "terraform", "dirs", i), d, "dirs") for i, d in enumerate(tf.dirs)]
        named += [((*at, "terraform", "var_files", i), f, "var_files")
                  for i, f in enumerate(tf.var_files)]
        if tf.plan is not None:
            named.append(((*at, "terraform", "plan"), tf.plan, "plan"))
    named += [((*at, "manifests", i), m, "manifests") for i, m in enumerate(env.manifests)]
    return named


# What each role of :func:`named_paths` is, in words.
ROLES = {"chart": "chart directory", "values": "values file", "dirs": "Terraform directory",
         "var_files": "variables file", "plan": "plan file",
         "manifests": "manifest file or directory"}


def _describe(exc: ValidationError, file: str, lines: dict[Path, int]) -> list[str]:
    """Every validation error, one ``file:line: key: message`` line each, in file order."""
    errors = [(tuple(p for p in e["loc"] if not (isinstance(p, str) and p in _UNION_TAGS)), e)
              for e in exc.errors()]
    # A misspelt key also makes the real one "missing": the typo is the cause, said once.
    misspelt = {loc[:-1] for loc, e in errors if e["type"] == "extra_forbidden"}
    out = []
    for loc, err in errors:
        if err["type"] == "missing" and loc[:-1] in misspelt:
            continue
        message = str(err["msg"]).removeprefix("Value error, ")  # our validators' own words
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        out.append(f"{where(file, nearest_line(lines, loc))}: {_dotted(loc)}: {message}")
    return sorted(dict.fromkeys(out), key=lambda line: _line_no(line, file))


def _line_no(line: str, file: str) -> int:
    head = line[len(file) + 1:].split(":", 1)[0]
    return int(head) if head.isdigit() else 0


def _dotted(key: Path) -> str:
    return ".".join(str(p) for p in key) or "(top level)"


# pydantic inserts the chosen union member's name into error locations.
_UNION_TAGS = {"dict[str,any]", "any"}
