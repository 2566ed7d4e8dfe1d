"""Encoding, hash and crypto functions, from the examples of Terraform's documentation."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.terraform.functions_support import Scope, check, ev, fails, reason

DOCUMENTED = [
    ('base64decode("SGVsbG8gV29ybGQ=")', "Hello World"),
    ('base64encode("Hello World")', "SGVsbG8gV29ybGQ="),
    ('base64sha256("hello world")', "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="),
    ('base64sha512("hello world")', "MJ7MSJwS1utMxA9QyQLytNDtd+5RGnx6m808qG1M2G+YndNbxf9JlnDa"
                                    "NCVbRbDP2DDoH2Bdz33FVC6TrpzXbw=="),
    ('csvdecode("a,b,c\\n1,2,3\\n4,5,6")', [{"a": "1", "b": "2", "c": "3"},
                                            {"a": "4", "b": "5", "c": "6"}]),
    ('jsondecode("{\\"hello\\": \\"world\\"}")', {"hello": "world"}),
    ('jsondecode("true")', True),
    ('jsonencode({"hello"="world"})', '{"hello":"world"}'),
    ('md5("hello world")', "5eb63bbbe01eeed093cb22bb8f5acdc3"),
    ('sha1("hello world")', "2aae6c35c94fcfb415dbe95f408b9ce91ee846ed"),
    ('sha256("hello world")', "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"),
    ('sha512("hello world")', "309ecc489c12d6eb4cc40f50c902f2b4d0ed77ee511a7c7a9bcd3ca86d4cd86f"
                              "989dd35bc5ff499670da34255b45b0cfd830e81f605dcf7dc5542e93ae9cd76f"),
    ('textdecodebase64("SABlAGwAbABvACAAVwBvAHIAbABkAA==", "UTF-16LE")', "Hello World"),
    ('textencodebase64("Hello World", "UTF-16LE")', "SABlAGwAbABvACAAVwBvAHIAbABkAA=="),
    ('urlencode("Hello World!")', "Hello+World%21"), ('urlencode("☃")', "%E2%98%83"),
    ('"http://example.com/search?q=${urlencode("terraform urlencode")}"',
     "http://example.com/search?q=terraform+urlencode"),
    ('uuidv5("dns", "www.terraform.io")', "a5008fae-b28c-5ba5-96cd-82b4c53552d6"),
    ('uuidv5("url", "https://www.terraform.io/")', "9db6f67c-dd95-5ea0-aa5b-e70e5c5f7cf5"),
    ('uuidv5("oid", "1.3.6.1.4")', "af9d40a5-7a36-5c07-b23a-851cd99fbfa5"),
    ('uuidv5("x500", "CN=Example,C=GB")', "84e09961-4aa4-57f8-95b7-03edb1073253"),
    ('uuidv5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "www.terraform.io")',
     "a5008fae-b28c-5ba5-96cd-82b4c53552d6"),
    ('uuidv5("743ac3c0-3bf7-4a5b-9e6c-59360447c757", "LIBS:diskfont.library")',
     "ede1a974-df7e-5f17-84b9-76208818b2c8"),
    ('yamldecode("hello: world")', {"hello": "world"}), ('yamldecode("true")', True),
    ('yamldecode("{a: &foo [1, 2, 3], b: *foo}")', {"a": [1, 2, 3], "b": [1, 2, 3]}),
    ('yamlencode({"a":"b", "c":"d"})', '"a": "b"\n"c": "d"\n'),
    ('yamlencode({"foo":[1, 2, 3], "bar": "baz"})', '"bar": "baz"\n"foo":\n- 1\n- 2\n- 3\n'),
    ('yamlencode({"foo":[1, {"a":"b","c":"d"}, 3], "bar": "baz"})',
     '"bar": "baz"\n"foo":\n- 1\n- "a": "b"\n  "c": "d"\n- 3\n'),
]


@pytest.mark.parametrize(("expression", "expected"), DOCUMENTED)
def test_documented_examples(expression: str, expected: object) -> None:
    check(expression, expected)


def test_documented_errors() -> None:
    assert "itself" in fails('yamldecode("{a: &foo [1, *foo, 3]}")')
    assert "unsupported tag '!not-supported'" in fails('yamldecode("{a: !not-supported foo}")')
    assert "invalid JSON" in fails('jsondecode("{")')
    assert "wrong number of fields" in fails('csvdecode("a,b\\n1")')
    assert "not valid UTF-8" in fails('base64decode("/w==")')
    assert "failed to decode" in fails('base64decode("%%%")')
    assert "doesn't support namespace" in fails('uuidv5("nope", "x")')


def test_encoders_write_what_terraform_writes() -> None:
    check('jsonencode({b = [1, 1.5, true, null], a = "<&>"})',
          '{"a":"\\u003c\\u0026\\u003e","b":[1,1.5,true,null]}')
    check("jsonencode(0.0000001)", "0.0000001")  # cty numbers are never in exponent form
    check('yamlencode({a = "line\\nnext", b = [], c = {}, d = null, e = 1.5})',
          '"a": |-\n  line\n  next\n"b": []\n"c": {}\n"d": null\n"e": 1.5\n')
    check('yamldecode("a: !!binary aGk=")', {"a": "aGk="})  # binary: base64 text
    check('yamldecode("")', None)
    assert "only one YAML document" in fails('yamldecode("a: 1\\n---\\nb: 2")')


def test_encoding_an_unknown_value_is_unknown() -> None:
    assert "only known after apply" in reason(ev("jsonencode({id = aws_db_instance.a.id})"))
    assert "unset" in reason(ev("yamlencode([var.unset])"))


@pytest.mark.parametrize("name", ["bcrypt", "uuid"])
def test_random_functions_are_unknown_naming_them(name: str) -> None:
    assert reason(ev(f'{name}("x")' if name == "bcrypt" else f"{name}()")).startswith(
        f"{name}() is not evaluated offline")


def test_base64gzip_is_unknown_since_gos_bytes_are_not_reproduced() -> None:
    assert reason(ev('base64gzip("hello")')).startswith("base64gzip() is not evaluated offline")


def test_rsadecrypt_decrypts_with_the_given_key() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    secret = key.public_key().encrypt(b"Hello, world!", padding.PKCS1v15())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    scope = Scope({"ciphertext": base64.b64encode(secret).decode(), "key": pem})
    check("rsadecrypt(var.ciphertext, var.key)", "Hello, world!", scope)
    assert "base64" in fails('rsadecrypt("%%", var.key)', scope)
    assert "invalid private key" in fails('rsadecrypt(var.ciphertext, "nope")', scope)
