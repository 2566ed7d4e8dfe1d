"""Filesystem, path and template functions: the examples of Terraform's documentation, read
from a project on disk, and the confinement to that project."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from auditor.terraform.hcl_fn_common import LIMIT
from auditor.terraform.hcl_fn_files import ModuleFiles, path_value
from tests.terraform.functions_support import Scope, check, ev, fails, reason

BACKENDS = "%{ for addr in ip_addrs ~}\nbackend ${addr}:${port}\n%{ endfor ~}\n"
CONFIG = "%{ for config_key, config_value in config }\nset ${config_key} = ${config_value}\n" \
         "%{ endfor ~}\n"


@pytest.fixture
def scope(tmp_path: Path) -> Scope:
    """A project with .git, whose Terraform root module is infra/ (where terraform runs)."""
    project, root = tmp_path / "project", tmp_path / "project" / "infra"
    for name, text in {
        ".git/config": "token = secret", "infra/hello.txt": "Hello World",
        "infra/files/hello.txt": "", "infra/files/world.txt": "", "infra/files/.keep": "",
        "infra/files/subdirectory/anotherfile.txt": "", "infra/backends.tftpl": BACKENDS,
        "infra/config.tftpl": CONFIG, "infra/modules/db/port.txt": "5432",
        "infra/self.tftpl": '${templatefile("self.tftpl", {})}', "notes.txt": "in the project",
        "../elsewhere.txt": "outside",
    }.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    (root / "latin1.txt").write_bytes(b"caf\xe9")
    (root / "link.txt").symlink_to(tmp_path / "elsewhere.txt")
    return Scope(files=ModuleFiles(root, root, project))


def test_documented_examples(scope: Scope) -> None:
    check('file("./hello.txt")', "Hello World", scope)  # "${path.module}/hello.txt" at the root
    check('filebase64("./hello.txt")', "SGVsbG8gV29ybGQ=", scope)
    check('fileexists("./hello.txt")', True, scope)
    check('fileset(".", "files/*.txt")', ["files/hello.txt", "files/world.txt"], scope)
    check('fileset(".", "files/{hello,world}.txt")', ["files/hello.txt", "files/world.txt"],
          scope)
    check('fileset("./files", "*")', [".keep", "hello.txt", "world.txt"], scope)
    check('fileset("./files", "**")',
          [".keep", "hello.txt", "subdirectory/anotherfile.txt", "world.txt"], scope)
    check('templatefile("./backends.tftpl", { port = 8080, ip_addrs = ["10.0.0.1", "10.0.0.2"] })',
          "backend 10.0.0.1:8080\nbackend 10.0.0.2:8080\n", scope)
    # The page prints this without its blank lines; HCL keeps the newline after "}".
    check('templatefile("./config.tftpl", {config = {"x" = "y", "foo" = "bar", "key" = "value"}})',
          "\nset foo = bar\n\nset key = value\n\nset x = y\n", scope)


def test_rsadecrypt_as_documented(scope: Scope) -> None:
    """rsadecrypt(filebase64("${path.module}/ciphertext"), file("privatekey.pem"))"""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert scope.files is not None
    (scope.files.root / "ciphertext").write_bytes(
        key.public_key().encrypt(b"Hello, world!", padding.PKCS1v15()))
    (scope.files.root / "privatekey.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()))
    check('rsadecrypt(filebase64("./ciphertext"), file("privatekey.pem"))', "Hello, world!",
          scope)


@pytest.mark.parametrize("name", ["md5", "sha1", "sha256", "sha512"])
def test_file_hashes_match_the_hash_of_the_contents(scope: Scope, name: str) -> None:
    digest = hashlib.new(name, b"Hello World")
    check(f'file{name}("hello.txt")', digest.hexdigest(), scope)
    check(f'{name}(file("hello.txt"))', digest.hexdigest(), scope)
    if name in ("sha256", "sha512"):
        check(f'filebase64{name}("hello.txt")', ev(f'base64{name}("Hello World")'), scope)


def test_relative_paths_start_at_the_root_module(scope: Scope) -> None:
    assert scope.files is not None
    files = scope.files
    module = Scope(files=ModuleFiles(files.root, files.root / "modules" / "db", files.project))
    assert path_value(module, "module") == "modules/db"
    assert path_value(module, "root") == "."
    check('file("modules/db/port.txt")', "5432", module)
    check('file("../notes.txt")', "in the project", scope)  # outside the root, in the project


@pytest.mark.parametrize(("path", "why"), [
    ("../../elsewhere.txt", "outside the project"),
    ("link.txt", "outside the project"),  # a symbolic link leading out
    ("../.git/config", ".git folder"),
    ("/etc/hostname", "outside the project"),
    ("~/.ssh/id_rsa", "home directory"),
])
def test_nothing_outside_the_project_is_read(scope: Scope, path: str, why: str) -> None:
    for fn in ("file", "fileexists", "filesha256", "templatefile"):
        call = f'{fn}("{path}"{", {}" if fn == "templatefile" else ""})'
        assert why in reason(ev(call, scope)), call
        assert ev(f"can({call})", scope) is not False  # unknown, not an error


def test_genuine_errors(scope: Scope) -> None:
    assert "no file exists at missing.txt" in fails('file("missing.txt")', scope)
    assert "not valid UTF-8" in fails('file("latin1.txt")', scope)
    assert "is a directory" in fails('fileexists("files")', scope)
    check('fileexists("missing.txt")', False, scope)
    check('filebase64("latin1.txt")', "Y2Fm6Q==", scope)
    assert "cannot recursively call templatefile" in fails('templatefile("self.tftpl", {})',
                                                           scope)
    assert "vars map does not contain key 'port'" in \
        fails('templatefile("backends.tftpl", {ip_addrs = ["a"]})', scope)


def test_reads_are_bounded(scope: Scope, tmp_path: Path) -> None:
    assert scope.files is not None
    (scope.files.root / "big.txt").write_text("x" * (LIMIT + 1))
    os.mkfifo(scope.files.root / "pipe")  # reading it would block the scan
    big = ev('file("big.txt")', scope)
    assert "not evaluated" in reason(big) and big.failed  # type: ignore[union-attr]
    assert "not a regular file" in fails('file("pipe")', scope)


def test_without_a_module_directory_file_functions_are_unknown() -> None:
    assert reason(ev('file("hello.txt")')) == \
        "file() reads files, and this evaluation has no module directory"
    assert "path.module" in reason(ev('"${path.module}/hello.txt"'))


@pytest.mark.parametrize(("expression", "expected"), [
    ('basename("foo/bar/baz.txt")', "baz.txt"), ('dirname("foo/bar/baz.txt")', "foo/bar"),
    ('pathexpand("/etc/resolv.conf")', "/etc/resolv.conf"),
    ('abspath("/home/user/some/../terraform/root/")', "/home/user/terraform/root"),
    ('basename("a/b/")', "b"), ('dirname("baz")', "."), ('basename("")', "."),
])
def test_path_functions(expression: str, expected: str) -> None:
    check(expression, expected)


def test_machine_dependent_paths_are_unknown() -> None:
    assert "home directory" in reason(ev('pathexpand("~/.ssh/id_rsa")'))
    assert "directory terraform runs in" in reason(ev('abspath("x")'))
