"""``auditor precommit FILE...``: the declared scan of the environments whose inputs the
given (changed) files belong to, for a pre-commit hook, compared with HEAD so that only
what the commit adds fails it. Nothing changed that an environment reads: nothing to
scan, exit 0, in milliseconds.

An environment reads its config file, the waiver file, its chart directory and values
files, its manifests and its Terraform directories, var files and plan file. A local
Terraform module outside those directories is not followed here: list its directory under
the environment's ``terraform.dirs`` glob or run ``auditor scan`` in CI as well.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path as FsPath

from auditor.config import Config, Environment
from auditor.waivers import DEFAULT_NAME


def inputs(config: Config, env: Environment, waivers: str | None = None) -> list[FsPath]:
    """Every file or directory the environment's declared scan reads (``waivers``: the
    --waivers file, relative to the working directory)."""
    extra = [FsPath(waivers).resolve()] if waivers else []
    rel: list[str] = [FsPath(config.file).name, config.waivers or DEFAULT_NAME]
    if env.helm is not None:
        rel += [env.helm.chart, *env.helm.values]
    rel += env.manifests
    if env.terraform is not None:
        tf_files, tf_dirs = env.terraform.reads()
        rel += [*tf_dirs, *tf_files]
    return [config.path(r) for r in rel] + extra


def affected(config: Config, files: Iterable[str], waivers: str | None = None) -> list[str]:
    """The environments (config order) that read any of ``files``."""
    changed = [FsPath(f).resolve() for f in files]
    out = []
    for name, env in config.environments.items():
        reads = inputs(config, env, waivers)
        if any(c == r or r in c.parents for c in changed for r in reads):
            out.append(name)
    return out


def base_ref(config: Config) -> str | None:
    """What the change is compared with: pre-commit's ``--from-ref`` (set for pre-push
    hooks and `pre-commit run --from-ref`), else HEAD (the commit being made is HEAD plus
    the staged files); None outside git or before the first commit (gate on everything).
    Under ``pre-commit run --all-files`` the files equal HEAD: nothing is new, use --all."""
    from auditor import gitbase
    from auditor.errors import InputError

    ref = os.environ.get("PRE_COMMIT_FROM_REF") or "HEAD"
    try:
        top = gitbase.toplevel(config.base_dir)
        gitbase.resolve(top, ref)
    except InputError:
        return None
    return ref
