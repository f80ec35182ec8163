"""Passwords (argon2) and personal data at rest (AES-GCM with key ids, HMAC blind index)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import os

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_hasher = PasswordHasher()
# Used only under TestingConfig: the tests hash many passwords.
_fast_hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
# Verifying against this keeps unknown usernames as slow as wrong passwords.
_DUMMY_HASH = _hasher.hash("casework-dummy-password")


def hash_password(password: str, *, fast: bool = False) -> str:
    return (_fast_hasher if fast else _hasher).hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant-work check; an absent hash still costs one verification."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def parse_keys(spec: str) -> list[tuple[str, bytes]]:
    """``"id1:base64key,id2:base64key"`` → [(id, key)], newest first (the first encrypts)."""
    keys: list[tuple[str, bytes]] = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        if ":" not in part:
            raise RuntimeError("CASEWORK_PII_KEYS entries must look like keyid:base64key")
        kid, b64 = part.split(":", 1)
        key = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))
        if len(key) != 32:
            raise RuntimeError(f"CASEWORK_PII_KEYS key {kid!r} must be 32 bytes (AES-256)")
        keys.append((kid, key))
    if not keys:
        raise RuntimeError("CASEWORK_PII_KEYS holds no key")
    return keys


class PiiBox:
    """Encrypts personal fields; ciphertext is ``keyid$nonce+ct`` so keys can rotate."""

    def __init__(self) -> None:
        self._keys: dict[str, bytes] = {}
        self._current = ""
        self._index_key = b""

    def init_app(self, app) -> None:
        self.configure(app.config["PII_KEYS"], index_key=app.config["BLIND_INDEX_KEY"])

    def configure(self, spec: str, index_key: str | None = None) -> None:
        keys = parse_keys(spec)
        self._keys = dict(keys)
        self._current = keys[0][0]
        if index_key is not None:
            self._index_key = hashlib.sha256(b"casework-blind-index" + index_key.encode()).digest()

    @property
    def current_key_id(self) -> str:
        return self._current

    def encrypt(self, plaintext: str | None, *, context: bytes = b"casework-pii") -> str | None:
        if plaintext is None:
            return None
        nonce = os.urandom(12)
        ct = AESGCM(self._keys[self._current]).encrypt(nonce, plaintext.encode(), context)
        return f"{self._current}${base64.urlsafe_b64encode(nonce + ct).decode()}"

    def decrypt(self, token: str | None, *, context: bytes = b"casework-pii") -> str | None:
        if token is None:
            return None
        kid, blob = token.split("$", 1)
        raw = base64.urlsafe_b64decode(blob)
        return AESGCM(self._keys[kid]).decrypt(raw[:12], raw[12:], context).decode()

    def key_id_of(self, token: str) -> str:
        return token.split("$", 1)[0]

    def blind_index(self, normalized: str) -> str:
        """Keyed HMAC of a normalised value, under a key of its own (CASEWORK_BLIND_INDEX_KEY) so that
        rotating or retiring encryption keys never changes an index value."""
        if not self._index_key:
            raise RuntimeError("the blind-index key is not configured")
        return hmac.new(self._index_key, normalized.encode(), hashlib.sha256).hexdigest()


pii_box = PiiBox()
