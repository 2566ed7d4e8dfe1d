"""Lays out ``.terraform/modules`` in each Terraform corpus root as ``terraform init`` would,
offline, so that bench/accuracy.py audits what registry modules declare.

For each root directory of bench/accuracy.py's Terraform corpora it reads the module calls
(``module "NAME" { source = ... }``), recursing into every module it reaches, and writes
Terraform's own record, ``.terraform/modules/modules.json``: one entry per call, keyed by the
call names from the root joined by ".". A local source (``./``, ``../``) is recorded where it
is, as Terraform does; a registry source ``NS/NAME/PROVIDER[//SUBDIR]`` is the repository
``NS/terraform-PROVIDER-NAME`` unpacked into ``.terraform/modules/KEY`` (``Dir`` is its
subdirectory). Version pins are ignored: every call of a repository gets the one commit
pinned in ``PINS`` (the output names each pin and whether that version meets it).

    .venv/bin/python bench/init_modules.py          # offline: from /work/.mirror or the cache
    .venv/bin/python bench/init_modules.py --fetch  # clone what is missing from GitHub
    .venv/bin/python bench/init_modules.py eks      # the corpora whose name contains "eks"

A repository is read from ``bench/corpus/.modules/OWNER+NAME.git`` (what ``--fetch``
cloned), else from a bare mirror under ``$BENCH_MIRROR`` (default ``/work/.mirror``,
``OWNER+NAME/repo``). A mirror is a snapshot that may lack its largest files: a pinned
commit's file absent from it is left out of the layout and named in the output, unless it is a
Terraform file (then the repository counts as missing). Exit 1 when a repository is not pinned
or not on this machine.
"""

from __future__ import annotations

import functools
import io
import json
import os
import posixpath
import re
import shutil
import subprocess
import sys
import tarfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import hcl2
from accuracy import CORPORA, CORPUS

CACHE = CORPUS / ".modules"
GITHUB = "https://github.com/{}.git"
MIRROR = Path(os.environ.get("BENCH_MIRROR", "/work/.mirror"))
MAX_DEPTH = 10
LOCAL = ("./", "../")
MODULE_BLOCK = re.compile(r"^\s*module\s", re.MULTILINE)
TERRAFORM_FILES = (".tf", ".tf.json")
OPERATORS = ("~>", ">=", "<=", "!=", "=", ">", "<")
REGISTRY = re.compile(r"^(?:registry\.terraform\.io/)?([\w-]+)/([\w-]+)/([\w-]+)(?://(.+))?$")
# The module repositories used, each at one commit (its release tag: the version written).
PINS = {
    "terraform-aws-modules+terraform-aws-acm":
        ("61c702b3ad1635ebeb997bfa683eb1a17813bfd8", "5.2.0"),
    "terraform-aws-modules+terraform-aws-alb":
        ("87f1c9c18408993abe951db5bf788c676abf0731", "10.5.0"),
    "terraform-aws-modules+terraform-aws-autoscaling":
        ("29629cd207703b3c4c784e9d7d8f1e130773edab", "9.2.1"),
    "terraform-aws-modules+terraform-aws-eks":
        ("bef29c4d9523523e57fe898643fde2895106b339", "21.19.0"),
    "terraform-aws-modules+terraform-aws-iam":
        ("981121bcd17618b8ed032223c0d9e647b9277ef9", "6.5.0"),
    "terraform-aws-modules+terraform-aws-kms":
        ("407e3db34a65b384c20ef718f55d9ceacb97a846", "4.2.0"),
    "terraform-aws-modules+terraform-aws-lambda":
        ("23d00f7daef40091e87ed2f9dc5d8532e9d2cc22", "8.8.1"),
    # Not the newest (7.x): rds-proxy's examples ask for ~> 6.0, rds-aurora ~> 9.0.
    "terraform-aws-modules+terraform-aws-rds":
        ("578c95b19abf30b9b1068dd54025ac8e6df3212f", "6.13.1"),
    "terraform-aws-modules+terraform-aws-rds-aurora":
        ("25b5c33e40fb74c3095ab273801c6c241845672f", "9.16.1"),
    "terraform-aws-modules+terraform-aws-s3-bucket":
        ("dd0c434de5e74d8864e249ee020d917b076b6e32", "5.15.4"),
    "terraform-aws-modules+terraform-aws-security-group":
        ("3cf4e1a48a4649179e8ea27308daf0b551cb0bfa", "5.3.1"),
    "terraform-aws-modules+terraform-aws-vpc":
        ("82d1929e669efef4e2ad00611b8a68e7a56e049c", "6.6.0"),
    # Cloud Posse's examples pin exact versions: these are the versions they write.
    "cloudposse+terraform-aws-dynamic-subnets":
        ("6b3bb0f22692548729f4d9f631e511380346a3d4", "2.4.2"),
    "cloudposse+terraform-aws-eks-cluster":
        ("6521512dd3d554acabfdd6840b47c0acd5b2ec89", "4.6.0"),
    "cloudposse+terraform-aws-route53-cluster-hostname":
        ("a1e18dc9a194e6fe4bd5c68b1180c8ba87a37d95", "0.13.0"),
    "cloudposse+terraform-aws-security-group":
        ("679216f1bc0b1c39a9bea03456e3eae8261f8dbb", "2.2.0"),
    "cloudposse+terraform-aws-utils":
        ("c86b8d6192d8baa5fc5fca806d13b5f7172ffbe4", "1.4.0"),
    "cloudposse+terraform-aws-vpc":
        ("1f578f3e691edfc9ef1e8afc0bb302ceaceba123", "2.2.0"),
    "cloudposse+terraform-null-label":
        ("488ab91e34a24a86957e397d9f7262ec5925586a", "0.25.0"),
}


def module_calls(directory: Path) -> list[tuple[str, str, str]]:
    """(name, source, version pin) of each module call in a directory's ``*.tf`` files."""
    return [call for path in sorted(directory.glob("*.tf")) for call in _calls(path.read_text())]


@functools.cache
def _calls(text: str) -> tuple[tuple[str, str, str], ...]:
    if not MODULE_BLOCK.search(text):  # most files: parsing them is most of the time
        return ()
    calls = []
    for block in hcl2.loads(text).get("module", []):
        for name, body in block.items():
            source, pin = (str(body.get(k, "")).strip('"') for k in ("source", "version"))
            calls.append((name.strip('"'), source, pin))
    return tuple(calls)


def meets(version: str, constraint: str) -> bool:
    """Whether ``version`` meets a Terraform version constraint (``~> 5.0, >= 5.1``)."""
    def parts(v: str) -> tuple[int, ...]:
        return tuple(int(p) for p in re.findall(r"\d+", v)[:3])
    have = parts(version)
    for term in constraint.split(","):
        op = next((o for o in OPERATORS if term.strip().startswith(o)), None)
        w = parts(term)
        if op == "~>":
            upper = (*w[:-2], w[-2] + 1) if len(w) > 1 else (w[0] + 1,)
            ok = w <= have < upper
        else:
            ok = {None: have == w, "=": have == w, "!=": have != w, ">": have > w,
                  ">=": have >= w, "<": have < w, "<=": have <= w}[op]
        if not ok:
            return False
    return True


@dataclass
class Repos:
    """The pinned repositories, found on this machine (or cloned with ``network``)."""
    network: bool
    used: dict[str, str] = field(default_factory=dict)  # repo -> where it was read
    missing: dict[str, str] = field(default_factory=dict)  # repo -> why it is not here
    absent: dict[str, list[str]] = field(default_factory=dict)  # repo -> files left out
    _tars: dict[str, bytes] = field(default_factory=dict)

    def archive(self, repo: str) -> bytes | None:
        if repo not in self._tars and repo not in self.missing:
            found = self._git_dir(repo)
            if isinstance(found, str):
                self.missing[repo] = found
                return None
            commit = PINS[repo][0]
            absent = _absent(found, commit)
            if terraform := [p for p in absent if p.endswith(TERRAFORM_FILES)]:
                self.missing[repo] = f"{', '.join(terraform)} at {commit[:12]} not in {found}"
                return None
            self._tars[repo] = _git(found, "archive", "--format=tar", commit, "--", ".",
                                    *(f":(exclude,literal){p}" for p in absent))
            self.used[repo] = str(found)
            if absent:
                self.absent[repo] = absent
        return self._tars.get(repo)

    def _git_dir(self, repo: str) -> Path | str:
        cache = CACHE / f"{repo}.git"
        here = [d for d in (cache, *sorted((MIRROR / repo).glob("*"))) if (d / "HEAD").is_file()]
        if repo not in PINS:
            head = [_git(d, "describe", "--always", "--tags", "--long").decode().strip()
                    for d in here[:1]]
            return f"not pinned{' (here: ' + head[0] + ')' if head else ''}: add it to PINS"
        commit = PINS[repo][0]
        for candidate in here:
            if subprocess.run(["git", "--git-dir", str(candidate), "cat-file", "-e",
                               f"{commit}^{{commit}}"], capture_output=True).returncode == 0:
                return candidate
        if not self.network:
            return f"commit {commit[:12]} not on this machine: run with --fetch"
        url = GITHUB.format(repo.replace("+", "/", 1))
        try:
            subprocess.run(["git", "init", "-q", "--bare", str(cache)], check=True)
            _git(cache, "fetch", "-q", "--depth=1", "--", url, commit)
        except subprocess.CalledProcessError as exc:
            why = exc.stderr.decode(errors="replace").strip().splitlines()[-1:]
            return f"git could not fetch {commit[:12]} from {url}: {''.join(why)}"
        return cache


def _absent(git_dir: Path, commit: str) -> list[str]:
    """The files of ``commit`` whose content is not in ``git_dir`` (a snapshot's big files)."""
    rows = _git(git_dir, "ls-tree", "-r", "-z", commit).decode().split("\0")
    entries = [(row.split("\t", 1)[0].split(), row.split("\t", 1)[1]) for row in rows if row]
    blobs = [(meta[2], path) for meta, path in entries if meta[1] == "blob"]
    checked = subprocess.run(
        ["git", "--git-dir", str(git_dir), "cat-file", "--batch-check=%(objectname)"],
        input="".join(f"{sha}\n" for sha, _ in blobs).encode(), capture_output=True,
        check=True).stdout.decode().splitlines()
    return [path for (_, path), out in zip(blobs, checked, strict=True)
            if out.endswith(" missing")]


def _git(git_dir: Path, *args: str) -> bytes:
    return subprocess.run(["git", "--git-dir", str(git_dir), *args], capture_output=True,
                          check=True).stdout


@dataclass
class Layout:
    """One root directory's modules, laid out: Terraform's entries and what was noticed."""
    root: Path
    repos: Repos
    entries: list[dict[str, str]] = field(default_factory=list)
    pins: Counter[tuple[str, str]] = field(default_factory=Counter)  # (repo, pin): calls
    problems: list[str] = field(default_factory=list)

    def walk(self, prefix: str, rel: str, chain: tuple[Path, ...]) -> None:
        for name, source, pin in module_calls(self.root / rel):
            key = f"{prefix}.{name}" if prefix else name
            if len(chain) > MAX_DEPTH:
                self.problems.append(f"{key}: nested more than {MAX_DEPTH} deep, not followed")
            elif source.startswith(LOCAL):
                self.enter(key, source, posixpath.normpath(posixpath.join(rel, source)), chain)
            elif match := REGISTRY.match(source):
                self.download(key, source, pin, match.groups(), chain)
            else:
                self.problems.append(f"{key}: source {source} is not a registry or local one")

    def download(self, key: str, source: str, pin: str, parts: tuple[str | None, ...],
                 chain: tuple[Path, ...]) -> None:
        ns, name, provider, sub = parts
        repo = f"{ns}+terraform-{provider}-{name}"
        tar = self.repos.archive(repo)
        if tar is None:
            self.problems.append(f"{key}: {repo} {self.repos.missing[repo]}")
            return
        if pin:
            self.pins[(repo, pin)] += 1
        target = self.root / ".terraform" / "modules" / key
        with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
            archive.extractall(target, filter="data")
        rel = f".terraform/modules/{key}" + (f"/{sub}" if sub else "")
        if not (self.root / rel).is_dir():
            shutil.rmtree(target)
            self.problems.append(f"{key}: {source}: no {sub} at {repo} {PINS[repo][1]} "
                                 f"(pin {pin or 'none'} ignored): not laid out")
            return
        full = source if source.startswith("registry.") else f"registry.terraform.io/{source}"
        self.enter(key, full, rel, chain, PINS[repo][1])

    def enter(self, key: str, source: str, rel: str, chain: tuple[Path, ...],
              version: str | None = None) -> None:
        entry = {"Key": key, "Source": source, **({"Version": version} if version else {}),
                 "Dir": rel}
        self.entries.append(entry)
        here = (self.root / rel).resolve()
        if here in chain:
            self.problems.append(f"{key}: calls a module already being read, not followed")
        elif here.is_dir():
            self.walk(key, rel, (*chain, here))


def lay_out(root: Path, repos: Repos) -> Layout:
    """Replaces ``root/.terraform/modules`` with the modules its calls reach."""
    modules = root / ".terraform" / "modules"
    shutil.rmtree(modules, ignore_errors=True)
    modules.mkdir(parents=True)
    layout = Layout(root, repos, [{"Key": "", "Source": "", "Dir": "."}])
    layout.walk("", ".", (root.resolve(),))
    (modules / "modules.json").write_text(json.dumps({"Modules": layout.entries}, indent=1))
    return layout


def main(argv: list[str]) -> int:
    repos = Repos(network="--fetch" in argv)
    names = [a for a in argv if not a.startswith("--")]
    pins: Counter[tuple[str, str]] = Counter()
    for corpus in CORPORA:
        base = CORPUS / corpus.repo
        if not corpus.terraform or not base.is_dir() or (names and not any(
                n in corpus.name for n in names)):
            continue
        for directory in corpus.terraform:
            layout = lay_out(base / directory, repos)
            downloaded = sum(1 for e in layout.entries if "Version" in e)
            print(f"{corpus.name}/{directory}: {len(layout.entries) - 1} module calls, "
                  f"{downloaded} downloaded")
            for problem in layout.problems:
                print(f"    not laid out  {problem}")
            pins += layout.pins
    print("repositories (version pins ignored: one commit each)")
    for repo, where in sorted(repos.used.items()):
        commit, version = PINS[repo]
        asked = [f"{p} ({n} call{'s' * (n > 1)}{'' if meets(version, p) else ', NOT MET'})"
                 for (r, p), n in sorted(pins.items()) if r == repo]
        print(f"    {repo} {commit} {version} from {where}\n        pins: {', '.join(asked)}")
        for path in repos.absent.get(repo, []):
            print(f"        not in this copy, not laid out: {path}")
    for repo, why in sorted(repos.missing.items()):
        print(f"    MISSING {repo}: {why}")
    return 1 if repos.missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
