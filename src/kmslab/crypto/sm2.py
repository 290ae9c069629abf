"""SM2 (GB/T 32918, GM/T 0003): SM2DSA signatures, SM2PKE encryption and ECDH, over OpenSSL.

Why OpenSSL's libcrypto, reached with :mod:`ctypes`: ``cryptography`` offers SM3 and SM4 but
not SM2, and the SM2 packages on PyPI are either pure Python with no constant-time arithmetic
and no releases since 2023 (``gmssl``, ``snowland-smx``) or bindings to a C library that
is not installed anywhere we run (``gmssl-python`` needs libgmssl). OpenSSL 3 implements
SM2 in its default provider, is maintained, fuzzed and reviewed, and is the very library the
``openssl`` command line uses, which is how AWS's own offline examples check SM2 results. So
this module adds no cryptography of its own: it only moves bytes to and from libcrypto.

What AWS KMS does, and therefore what this module does:

- SM2DSA: SM3 with the default distinguishing ID ``1234567812345678`` (GB/T 32918.2 and
  GM/T 0009 section 10). With MessageType RAW the message is hashed as SM3(Z_A || M); with
  DIGEST the 32 bytes sent are e = SM3(Z_A || M), computed by the caller, and signed as they
  are. Signatures are DER ``SEQUENCE { r INTEGER, s INTEGER }`` (GM/T 0009 section 7.3).
- SM2PKE: GB/T 32918.4 with SM3; the ciphertext is DER ``SEQUENCE { x INTEGER, y INTEGER,
  hash OCTET STRING, ciphertext OCTET STRING }``, the C1C3C2 order of GM/T 0009 section
  7.2, which is what OpenSSL writes. (AWS's pages do not spell out the byte layout; they
  point to the standards and to OpenSSL for offline work, so this follows GM/T 0009.)
- ECDH: the raw x-coordinate of d_A * Q_B on the SM2 curve, as for the NIST curves.
  OpenSSL 3.0's SM2 key type has no key-exchange method, so the scalar multiplication is
  OpenSSL's ``EC_POINT_mul``.

Keys are :class:`SM2PrivateKey` and :class:`SM2PublicKey` objects that own an ``EVP_PKEY``;
their repr never shows key material.

>>> from kmslab import specs
>>> key = generate(specs.get("SM2"))
>>> alg = specs.get("SM2").algorithm("SM2DSA")
>>> sig = sign(key, alg, b"hello", "RAW")
>>> verify(key.public_key(), alg, b"hello", "RAW", sig)
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache
from typing import Any

from kmslab.crypto import CryptoFailure
from kmslab.specs import Algorithm, KeySpecInfo

__all__ = [
    "DEFAULT_ID",
    "SM2PrivateKey",
    "SM2PublicKey",
    "available",
    "decrypt",
    "derive",
    "encrypt",
    "generate",
    "load",
    "load_public",
    "private_der",
    "public_der",
    "sign",
    "sm3_z",
    "verify",
]

#: The default distinguishing ID of GB/T 32918.2 / GM/T 0009, which AWS KMS uses for SM2DSA.
DEFAULT_ID = b"1234567812345678"

_P = ctypes.c_void_p
#: OpenSSL's NID of the SM2 curve (obj_mac.h NID_sm2).
_NID_SM2 = 1172
_SIZE_P = ctypes.POINTER(ctypes.c_size_t)
_BUF_P = ctypes.POINTER(ctypes.c_char_p)
#: (ctx, out, out_len*, in, in_len): the EVP one-shots that write a buffer.
_WRITE = [_P, ctypes.c_char_p, _SIZE_P, ctypes.c_char_p, ctypes.c_size_t]
#: (ctx, sig, sig_len, tbs, tbs_len): the EVP verify one-shots.
_CHECK = [_P, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t]

# (name, restype, argtypes) of every libcrypto function used: one table, checked at load.
_FUNCTIONS: tuple[tuple[str, Any, list[Any]], ...] = (
    ("EVP_PKEY_CTX_new_from_name", _P, [_P, ctypes.c_char_p, ctypes.c_char_p]),
    ("EVP_PKEY_CTX_new", _P, [_P, _P]),
    ("EVP_PKEY_CTX_free", None, [_P]),
    ("EVP_PKEY_keygen_init", ctypes.c_int, [_P]),
    ("EVP_PKEY_generate", ctypes.c_int, [_P, ctypes.POINTER(_P)]),
    ("EVP_PKEY_free", None, [_P]),
    ("EVP_PKEY_is_a", ctypes.c_int, [_P, ctypes.c_char_p]),
    ("EVP_PKEY_get_bn_param", ctypes.c_int, [_P, ctypes.c_char_p, ctypes.POINTER(_P)]),
    ("EC_GROUP_new_by_curve_name", _P, [ctypes.c_int]),
    ("EC_GROUP_free", None, [_P]),
    ("EC_POINT_new", _P, [_P]),
    ("EC_POINT_free", None, [_P]),
    ("EC_POINT_oct2point", ctypes.c_int, [_P, _P, ctypes.c_char_p, ctypes.c_size_t, _P]),
    ("EC_POINT_mul", ctypes.c_int, [_P, _P, _P, _P, _P, _P]),
    ("EC_POINT_is_at_infinity", ctypes.c_int, [_P, _P]),
    ("EC_POINT_get_affine_coordinates", ctypes.c_int, [_P, _P, _P, _P, _P]),
    ("BN_new", _P, []),
    ("BN_clear_free", None, [_P]),
    ("BN_bn2binpad", ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_int]),
    ("d2i_PUBKEY", _P, [_P, _BUF_P, ctypes.c_long]),
    ("i2d_PUBKEY", ctypes.c_int, [_P, _BUF_P]),
    ("d2i_AutoPrivateKey", _P, [_P, _BUF_P, ctypes.c_long]),
    ("EVP_PKEY2PKCS8", _P, [_P]),
    ("i2d_PKCS8_PRIV_KEY_INFO", ctypes.c_int, [_P, _BUF_P]),
    ("PKCS8_PRIV_KEY_INFO_free", None, [_P]),
    ("CRYPTO_free", None, [_P, ctypes.c_char_p, ctypes.c_int]),
    ("EVP_MD_CTX_new", _P, []),
    ("EVP_MD_CTX_free", None, [_P]),
    ("EVP_MD_CTX_set_pkey_ctx", None, [_P, _P]),
    ("EVP_MD_fetch", _P, [_P, ctypes.c_char_p, ctypes.c_char_p]),
    ("EVP_MD_free", None, [_P]),
    ("EVP_PKEY_CTX_set1_id", ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_int]),
    ("EVP_DigestSignInit", ctypes.c_int, [_P, _P, _P, _P, _P]),
    ("EVP_DigestSign", ctypes.c_int, _WRITE),
    ("EVP_DigestVerifyInit", ctypes.c_int, [_P, _P, _P, _P, _P]),
    ("EVP_DigestVerify", ctypes.c_int, _CHECK),
    ("EVP_PKEY_sign_init", ctypes.c_int, [_P]),
    ("EVP_PKEY_sign", ctypes.c_int, _WRITE),
    ("EVP_PKEY_verify_init", ctypes.c_int, [_P]),
    ("EVP_PKEY_verify", ctypes.c_int, _CHECK),
    ("EVP_PKEY_encrypt_init", ctypes.c_int, [_P]),
    ("EVP_PKEY_encrypt", ctypes.c_int, _WRITE),
    ("EVP_PKEY_decrypt_init", ctypes.c_int, [_P]),
    ("EVP_PKEY_decrypt", ctypes.c_int, _WRITE),
    ("ERR_clear_error", None, []),
)  # fmt: skip


class _Lib:
    """libcrypto with the functions above typed; None of it runs until first use."""

    def __init__(self, path: str) -> None:
        self.dll = ctypes.CDLL(path)
        for name, restype, argtypes in _FUNCTIONS:
            fn = getattr(self.dll, name)
            fn.restype = restype
            fn.argtypes = argtypes
            setattr(self, name, fn)

    def __getattr__(self, name: str) -> Any:  # typed lookups for mypy; set in __init__
        raise AttributeError(name)


@lru_cache(maxsize=1)
def _lib() -> _Lib:
    for candidate in ("libcrypto.so.3", ctypes.util.find_library("crypto"), "libcrypto.3.dylib"):
        if not candidate:
            continue
        try:
            lib = _Lib(candidate)
        except (OSError, AttributeError):
            continue
        return lib
    raise CryptoFailure("OpenSSL 3 libcrypto with SM2 was not found")


def available() -> bool:
    """Whether this machine's libcrypto (OpenSSL 3) can do SM2."""
    try:
        _lib()
    except CryptoFailure:
        return False
    return True


def _check(ok: int, what: str) -> None:
    if ok <= 0:
        _lib().ERR_clear_error()
        raise CryptoFailure(what)


class _Owned:
    """An EVP_PKEY pointer freed with the object."""

    __slots__ = ("_pkey",)

    def __init__(self, pkey: int) -> None:
        if not pkey:
            raise CryptoFailure("no key")
        self._pkey = pkey

    def __del__(self) -> None:
        pkey = getattr(self, "_pkey", 0)
        self._pkey = 0
        if pkey:
            _lib().EVP_PKEY_free(pkey)

    def _ctx(self) -> int:
        ctx = _lib().EVP_PKEY_CTX_new(self._pkey, None)
        if not ctx:
            raise CryptoFailure("EVP_PKEY_CTX_new failed")
        return int(ctx)

    def public_bytes_der(self) -> bytes:
        """SubjectPublicKeyInfo DER (id-ecPublicKey with the SM2 curve OID)."""
        return _i2d(_lib().i2d_PUBKEY, self._pkey)


class SM2PublicKey(_Owned):
    """An SM2 public key (the SPKI AWS's GetPublicKey returns)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "SM2PublicKey()"


class SM2PrivateKey(_Owned):
    """An SM2 private key; its repr shows nothing of the key."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "SM2PrivateKey(<hidden>)"

    def public_key(self) -> SM2PublicKey:
        return load_public(self.public_bytes_der())


def _i2d(fn: Any, obj: int) -> bytes:
    lib = _lib()
    out = ctypes.c_char_p()
    n = fn(obj, ctypes.byref(out))
    if n <= 0:
        lib.ERR_clear_error()
        raise CryptoFailure("DER encoding failed")
    try:
        return ctypes.string_at(out, n)
    finally:
        lib.CRYPTO_free(ctypes.cast(out, _P), None, 0)


def _d2i(fn: Any, der: bytes) -> int:
    buf = ctypes.create_string_buffer(bytes(der), len(der))
    ptr = ctypes.cast(buf, ctypes.c_char_p)
    pkey = fn(None, ctypes.byref(ptr), len(der))
    if not pkey:
        _lib().ERR_clear_error()
        raise CryptoFailure("not an SM2 key")
    if not _lib().EVP_PKEY_is_a(pkey, b"SM2"):
        _lib().EVP_PKEY_free(pkey)
        raise CryptoFailure("key on another curve")
    return int(pkey)


# -- the family interface (see kmslab.crypto) ------------------------------------------------


def generate(info: KeySpecInfo) -> SM2PrivateKey:
    lib = _lib()
    ctx = lib.EVP_PKEY_CTX_new_from_name(None, b"SM2", None)
    if not ctx:
        raise CryptoFailure("SM2 unavailable")
    try:
        _check(lib.EVP_PKEY_keygen_init(ctx), "keygen init")
        pkey = _P()
        _check(lib.EVP_PKEY_generate(ctx, ctypes.byref(pkey)), "keygen")
        return SM2PrivateKey(int(pkey.value or 0))
    finally:
        lib.EVP_PKEY_CTX_free(ctx)


def load(info: KeySpecInfo, material: bytes, *, trusted: bool = False) -> SM2PrivateKey:
    """A PKCS #8 DER SM2 private key (as ImportKeyMaterial and data key pairs carry it)."""
    return SM2PrivateKey(_d2i(_lib().d2i_AutoPrivateKey, material))


def load_public(der: bytes) -> SM2PublicKey:
    """A DER SubjectPublicKeyInfo on the SM2 curve."""
    return SM2PublicKey(_d2i(_lib().d2i_PUBKEY, der))


def public_der(key: SM2PrivateKey) -> bytes:
    return key.public_bytes_der()


def private_der(key: SM2PrivateKey) -> bytes:
    """PKCS #8 DER of the private key."""
    lib = _lib()
    p8 = lib.EVP_PKEY2PKCS8(key._pkey)
    if not p8:
        lib.ERR_clear_error()
        raise CryptoFailure("PKCS #8 encoding failed")
    try:
        return _i2d(lib.i2d_PKCS8_PRIV_KEY_INFO, p8)
    finally:
        lib.PKCS8_PRIV_KEY_INFO_free(p8)


def _sized(fn: Any, ctx: int, data: bytes, what: str) -> bytes:
    """Call an EVP one-shot twice: once for the size, once for the bytes."""
    n = ctypes.c_size_t(0)
    _check(fn(ctx, None, ctypes.byref(n), data, len(data)), what)
    out = ctypes.create_string_buffer(n.value)
    _check(fn(ctx, out, ctypes.byref(n), data, len(data)), what)
    return out.raw[: n.value]


def _with_ctx(key: _Owned, init: Any, fn: Any, data: bytes, what: str) -> bytes:
    lib = _lib()
    ctx = key._ctx()
    try:
        _check(init(ctx), what)
        return _sized(fn, ctx, data, what)
    finally:
        lib.EVP_PKEY_CTX_free(ctx)


def encrypt(key: SM2PrivateKey | SM2PublicKey, alg: Algorithm, plaintext: bytes) -> bytes:
    """SM2PKE with SM3; DER C1C3C2 ciphertext (GM/T 0009 section 7.2)."""
    pub = key.public_key() if isinstance(key, SM2PrivateKey) else key
    lib = _lib()
    return _with_ctx(pub, lib.EVP_PKEY_encrypt_init, lib.EVP_PKEY_encrypt, plaintext, "encrypt")


def decrypt(key: SM2PrivateKey, alg: Algorithm, ciphertext: bytes) -> bytes:
    lib = _lib()
    return _with_ctx(key, lib.EVP_PKEY_decrypt_init, lib.EVP_PKEY_decrypt, ciphertext, "decrypt")


def _digest_ctx(key: _Owned, signing: bool) -> tuple[int, int, int]:
    """An EVP_MD_CTX set up for SM2 with SM3 and the default distinguishing ID."""
    lib = _lib()
    mctx = lib.EVP_MD_CTX_new()
    pctx = key._ctx()
    md = lib.EVP_MD_fetch(None, b"SM3", None)
    try:
        _check(1 if md else 0, "SM3 unavailable")
        _check(lib.EVP_PKEY_CTX_set1_id(pctx, DEFAULT_ID, len(DEFAULT_ID)), "set id")
        lib.EVP_MD_CTX_set_pkey_ctx(mctx, pctx)
        init = lib.EVP_DigestSignInit if signing else lib.EVP_DigestVerifyInit
        _check(init(mctx, None, md, None, key._pkey), "digest init")
    except CryptoFailure:
        _free_digest_ctx(mctx, pctx, md)
        raise
    return int(mctx), int(pctx), int(md)


def _free_digest_ctx(mctx: int, pctx: int, md: int) -> None:
    lib = _lib()
    lib.EVP_MD_CTX_free(mctx)  # does not free a pkey ctx set with EVP_MD_CTX_set_pkey_ctx
    lib.EVP_PKEY_CTX_free(pctx)
    if md:
        lib.EVP_MD_free(md)


def sign(key: SM2PrivateKey, alg: Algorithm, message: bytes, message_type: str) -> bytes:
    """SM2DSA; RAW hashes SM3(Z_A || message), DIGEST signs the 32-byte e as given."""
    lib = _lib()
    if message_type == "DIGEST":
        return _with_ctx(key, lib.EVP_PKEY_sign_init, lib.EVP_PKEY_sign, message, "sign")
    mctx, pctx, md = _digest_ctx(key, signing=True)
    try:
        return _sized(lib.EVP_DigestSign, mctx, message, "sign")
    finally:
        _free_digest_ctx(mctx, pctx, md)


def verify(
    key: SM2PrivateKey | SM2PublicKey,
    alg: Algorithm,
    message: bytes,
    message_type: str,
    sig: bytes,
) -> None:
    pub = key.public_key() if isinstance(key, SM2PrivateKey) else key
    lib = _lib()
    if message_type == "DIGEST":
        ctx = pub._ctx()
        try:
            _check(lib.EVP_PKEY_verify_init(ctx), "verify init")
            _check(lib.EVP_PKEY_verify(ctx, sig, len(sig), message, len(message)), "bad signature")
        finally:
            lib.EVP_PKEY_CTX_free(ctx)
        return
    mctx, pctx, md = _digest_ctx(pub, signing=False)
    try:
        _check(lib.EVP_DigestVerify(mctx, sig, len(sig), message, len(message)), "bad signature")
    finally:
        _free_digest_ctx(mctx, pctx, md)


def derive(key: SM2PrivateKey, peer_spki: bytes) -> bytes:
    """ECDH on the SM2 curve: the raw 32-byte x-coordinate of d * Q_peer, no KDF.

    OpenSSL 3.0's SM2 key type has no key exchange, so this uses its EC_POINT arithmetic:
    ``EC_POINT_oct2point`` refuses a peer point that is not on the curve.
    """
    peer = load_public(peer_spki)
    lib = _lib()
    group = lib.EC_GROUP_new_by_curve_name(_NID_SM2)
    point, shared, d = lib.EC_POINT_new(group), lib.EC_POINT_new(group), _P()
    x = lib.BN_new()
    try:
        raw = peer.public_bytes_der()[-65:]  # 04 || x || y ends every SM2 SPKI
        _check(lib.EC_POINT_oct2point(group, point, raw, len(raw), None), "peer not on curve")
        _check(lib.EVP_PKEY_get_bn_param(key._pkey, b"priv", ctypes.byref(d)), "no private key")
        _check(lib.EC_POINT_mul(group, shared, None, point, d, None), "scalar multiplication")
        _check(0 if lib.EC_POINT_is_at_infinity(group, shared) else 1, "infinity")
        _check(lib.EC_POINT_get_affine_coordinates(group, shared, x, None, None), "coordinates")
        out = ctypes.create_string_buffer(32)
        _check(lib.BN_bn2binpad(x, out, 32), "encode")
        return out.raw
    finally:
        lib.BN_clear_free(x)
        if d.value:
            lib.BN_clear_free(d)
        lib.EC_POINT_free(point)
        lib.EC_POINT_free(shared)
        lib.EC_GROUP_free(group)


def sm3_z(public: SM2PrivateKey | SM2PublicKey, distid: bytes = DEFAULT_ID) -> bytes:
    """Z_A = SM3(ENTL || ID || a || b || x_G || y_G || x_A || y_A) (GB/T 32918.2 section 5.5).

    What a caller hashes in front of the message to make an SM2DSA DIGEST:
    ``e = SM3(sm3_z(pub) + message)``. Curve constants are GB/T 32918.5's.
    """
    from cryptography.hazmat.primitives import hashes

    spki = (public if isinstance(public, SM2PublicKey) else public.public_key()).public_bytes_der()
    point = spki[-64:]  # SPKI ends with the uncompressed point 04 || x || y
    h = hashes.Hash(hashes.SM3())
    h.update((len(distid) * 8).to_bytes(2, "big") + distid)
    h.update(_CURVE_A + _CURVE_B + _GX + _GY + point)
    return h.finalize()


# GB/T 32918.5-2017 (sm2p256v1) curve coefficients and base point, for Z_A.
_CURVE_A = bytes.fromhex("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC")
_CURVE_B = bytes.fromhex("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93")
_GX = bytes.fromhex("32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7")
_GY = bytes.fromhex("BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0")
