"""Terraform's hash and crypto functions that depend on their arguments only: md5, sha1,
sha256, sha512, base64sha256, base64sha512, uuidv5 and rsadecrypt.

Strings are hashed as their UTF-8 bytes, as in Terraform; the file* variants read the file
and call :func:`digest` (see :mod:`hcl_fn_files`). ``rsadecrypt`` uses the ``cryptography``
package, imported only when called; keys longer than :data:`MAX_KEY_BITS` are refused, since
the cost of a private-key operation grows with the cube of the key size. ``bcrypt`` (a random
salt) and ``uuid`` are not here: they are unknown offline (see :mod:`hcl_functions`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from collections.abc import Callable

from auditor.terraform.hcl_fn_common import too_big
from auditor.terraform.hcl_values import EvalError, to_str

MAX_KEY_BITS = 8192
_NAMESPACES = {"dns": uuid.NAMESPACE_DNS, "url": uuid.NAMESPACE_URL,
               "oid": uuid.NAMESPACE_OID, "x500": uuid.NAMESPACE_X500}


def digest(algorithm: str, data: bytes, encoding: str = "hex") -> str:
    """The hex (or base64) digest of ``data`` by ``md5``, ``sha1``, ``sha256``, ``sha512``."""
    raw = hashlib.new(algorithm, data)
    return raw.hexdigest() if encoding == "hex" else base64.b64encode(raw.digest()).decode()


def _hash(algorithm: str, encoding: str = "hex") -> Callable[[object], str]:
    return lambda value: digest(algorithm, to_str(value).encode(), encoding)


def _uuidv5(namespace: object, name: object) -> str:
    ns = to_str(namespace)
    try:
        space = _NAMESPACES.get(ns) or uuid.UUID(ns)
    except ValueError:
        raise EvalError(f"uuidv5() doesn't support namespace {ns}") from None
    return str(uuid.uuid5(space, to_str(name)))


def _rsadecrypt(ciphertext: object, key: object) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    text, pem = to_str(ciphertext), to_str(key).encode()
    if len(pem) > MAX_KEY_BITS * 2:  # loading checks the key, also cubic: refuse it first
        raise too_big("rsadecrypt() with so long a key")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise EvalError(f"failed to decode input {text[:40]!r}: cipher text must be "
                        "base64-encoded") from None
    try:
        private = serialization.load_ssh_private_key(pem, None) \
            if b"OPENSSH PRIVATE KEY" in pem else serialization.load_pem_private_key(pem, None)
    except (ValueError, TypeError) as exc:
        raise EvalError(f"rsadecrypt(): invalid private key: {exc}") from None
    if not isinstance(private, rsa.RSAPrivateKey):
        raise EvalError(f"rsadecrypt(): invalid private key type {type(private).__name__}")
    if private.key_size > MAX_KEY_BITS:
        raise too_big(f"rsadecrypt() with a {private.key_size}-bit key")
    try:
        plain = private.decrypt(data, padding.PKCS1v15())
    except ValueError as exc:
        raise EvalError(f"failed to decrypt: {exc}") from None
    try:
        return plain.decode()
    except UnicodeDecodeError:
        raise EvalError("rsadecrypt(): the decrypted text is not valid UTF-8") from None


FUNCTIONS: dict[str, Callable[..., object]] = {
    "md5": _hash("md5"), "sha1": _hash("sha1"), "sha256": _hash("sha256"),
    "sha512": _hash("sha512"), "base64sha256": _hash("sha256", "base64"),
    "base64sha512": _hash("sha512", "base64"), "uuidv5": _uuidv5, "rsadecrypt": _rsadecrypt,
}
