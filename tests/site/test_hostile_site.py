"""A hostile runbook source: in a pull request its author controls ``site/``, so page
templates and symbolic links are attacker input. Nothing a page writes runs, nothing
outside the source reaches the built site, and expensive templates end quickly; each
refusal is one line naming the file (exit 2), never a traceback."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.site.conftest import BuildSite, Site

SECRET = "TOP-SECRET-7f3a9c"


def _one_error_line(site: Site, where: str) -> str:
    assert site.result.exit_code == 2, site.result.stderr
    lines = site.result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in site.result.stderr, site.result.stderr
    assert lines[0].startswith(f"error: {where}"), lines[0]
    return lines[0]


def _assert_no_secret(tmp_path: Path) -> None:
    """The secret's bytes are in no file of any output the build wrote (or left)."""
    for out in tmp_path.glob("*out*"):
        for path in out.rglob("*"):
            if path.is_file():
                assert SECRET.encode() not in path.read_bytes(), path


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(f"password: {SECRET}\n", encoding="utf-8")
    return path


# Each would create `marker` if the page could reach Python's internals.
PAYLOADS = {
    "cycler-globals": '{{ cycler.__init__.__globals__.os.popen("touch MARK").read() }}',
    "self-context": "{{ self._TemplateReference__context.cycler.__init__.__globals__"
                    '.os.system("touch MARK") }}',
    "names-class": '{{ names.__class__.__init__.__globals__.shutil.os.system("touch MARK") }}',
    "subclasses": "{% for c in ''.__class__.__mro__[1].__subclasses__() %}"
                  "{% if c.__name__ == '_wrap_close' %}"
                  "{{ c.__init__.__globals__['system']('touch MARK') }}{% endif %}{% endfor %}",
    "attr-filter": '{{ (cycler|attr("__init__")|attr("__globals__"))["os"]'
                   '.system("touch MARK") }}',
}


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_a_page_cannot_run_code(build_site: BuildSite, proj: Path, tmp_path: Path,
                                payload: str) -> None:
    marker = tmp_path / "pwned"
    page = proj / "site" / "evil.md"
    page.write_text(f"# Evil\n\n{payload.replace('MARK', str(marker))}\n", encoding="utf-8")
    site = build_site()
    assert not marker.exists()
    _one_error_line(site, f"{page}")
    assert not site.out.exists()


EXPENSIVE = {
    "huge-range": "{% for i in range(10**9) %}x{% endfor %}",
    "nested-ranges": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}"
                     "{% endfor %}",
    "nested-loops-over-a-string": "{% set s = range(99999)|join %}"
                                  "{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}",
    "string-repetition": "{{ 'x' * 10**10 }}",
    "huge-number": "{{ 9 ** 999999999 }}",
    "many-megabytes": "{% for i in range(90000) %}{{ 'y' * 99 }}\n{% endfor %}",
    "endless-recursion": "{% macro f() %}{{ f() }}{{ f() }}{% endmacro %}{{ f() }}",
    "string-doubling": '{% set ns = namespace(s="x") %}{% for i in range(60) %}'
                       "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
    "huge-width": "{{ 'x'|center(10**9) }}",
    "shared-string": "{% set x = 'a' * 1000000 %}{% set l = [x, x, x, x, x, x, x, x] %}"
                     "{% set m = [l, l, l, l, l, l, l, l] %}{{ m | string | length }}",
}


@pytest.mark.parametrize("body", EXPENSIVE.values(), ids=EXPENSIVE.keys())
def test_an_expensive_page_ends_quickly_with_an_error(build_site: BuildSite, proj: Path,
                                                      body: str) -> None:
    page = proj / "site" / "slow.md"
    page.write_text(f"# Slow\n\n{body}\n", encoding="utf-8")
    started = time.monotonic()
    site = build_site()
    assert time.monotonic() - started < 20
    line = _one_error_line(site, f"{page}")
    assert "refused" in line or "cannot render" in line


@pytest.mark.parametrize("link", ["leak.md", "assets/leak.txt"])
def test_a_link_to_a_file_outside_the_source_is_refused(
        build_site: BuildSite, proj: Path, tmp_path: Path, secret: Path, link: str) -> None:
    path = proj / "site" / link
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(secret)
    site = build_site()
    line = _one_error_line(site, f"{path}:")
    assert "outside the runbook source" in line
    _assert_no_secret(tmp_path)


def test_a_link_inside_the_source_still_works(build_site: BuildSite, proj: Path) -> None:
    (proj / "site" / "again.md").symlink_to("index.md")
    site = build_site()
    assert site.result.exit_code == 0, site.result.stderr
    assert "Release chess-ai" in site.article("again")


@pytest.mark.parametrize("include", ["_leak.md", "_shared/secret.txt"])
def test_a_page_cannot_include_a_file_outside_the_source(
        build_site: BuildSite, proj: Path, tmp_path: Path, secret: Path, include: str) -> None:
    (proj / "site" / "_leak.md").symlink_to(secret)
    (proj / "site" / "_shared").symlink_to(tmp_path, target_is_directory=True)
    page = proj / "site" / "index.md"
    page.write_text(f'# Home\n\n{{% include "{include}" %}}\n', encoding="utf-8")
    site = build_site()
    line = _one_error_line(site, f"{page}:3:")
    assert "outside the runbook source" in line
    _assert_no_secret(tmp_path)


def test_a_symlink_loop_is_refused(build_site: BuildSite, proj: Path, tmp_path: Path,
                                   secret: Path) -> None:
    (proj / "site" / "a.md").symlink_to("b.md")
    (proj / "site" / "b.md").symlink_to("a.md")
    site = build_site()
    line = _one_error_line(site, f"{proj / 'site' / 'a.md'}:")
    assert "does not resolve" in line
    _assert_no_secret(tmp_path)


def test_a_site_folder_linked_outside_the_project_is_refused(
        build_site: BuildSite, proj: Path, tmp_path: Path, secret: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    (proj / "site").rename(elsewhere)
    (elsewhere / "leak.md").write_text(f"# Leak\n\n{SECRET}\n", encoding="utf-8")
    (proj / "site").symlink_to(elsewhere, target_is_directory=True)
    site = build_site()
    line = _one_error_line(site, f"{proj / 'site'}:")
    assert "outside" in line
    _assert_no_secret(tmp_path)


def test_a_projects_mkdocs_yml_cannot_run_code(build_site: BuildSite, proj: Path,
                                               tmp_path: Path) -> None:
    """MkDocs' own loader would run a python tag; the builder reads the file as data."""
    marker = tmp_path / "pwned"
    mkdocs = proj / "mkdocs.yml"
    mkdocs.write_text(f'site_name: !!python/object/apply:os.system ["touch {marker}"]\n'
                      "nav: [index.md]\n", encoding="utf-8")
    site = build_site()
    assert not marker.exists()
    assert "invalid YAML" in _one_error_line(site, f"{mkdocs}:1:")


def test_hooks_theme_overrides_and_snippets_of_a_project_are_not_used(
        build_site: BuildSite, proj: Path, tmp_path: Path, secret: Path) -> None:
    marker = tmp_path / "pwned"
    (proj / "hook.py").write_text(f"open({str(marker)!r}, 'w')\n", encoding="utf-8")
    (proj / "overrides").mkdir()
    (proj / "overrides" / "main.html").write_text(
        "{{ config.__class__.__init__.__globals__ }}", encoding="utf-8")
    (proj / "mkdocs.yml").write_text(
        "hooks: [hook.py]\ntheme: {name: material, custom_dir: overrides}\n"
        f"markdown_extensions: [{{pymdownx.snippets: {{base_path: ['{tmp_path}']}}}}]\n",
        encoding="utf-8")
    (proj / "site" / "index.md").write_text(
        f'# Home\n\n--8<-- "{secret.name}"\n', encoding="utf-8")
    site = build_site()
    assert site.result.exit_code == 0, site.result.stderr
    assert not marker.exists()
    assert "hooks, theme, markdown_extensions ignored" in site.result.stderr
    _assert_no_secret(tmp_path)
