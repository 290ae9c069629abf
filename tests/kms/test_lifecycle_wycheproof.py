"""Wycheproof vectors end to end through the KMS API, on keys imported with BYOK.

Each private key the vectors use is imported into an EXTERNAL key the way a user would do
it: CreateKey(Origin=EXTERNAL), GetParametersForImport, wrap the key with ``cryptography``
under the returned public key, ImportKeyMaterial. Then the operation runs through the API
and its answer is compared with the vector. One key is imported per private key: per group
for RSA (the groups carry ``privateKeyPkcs8``), per distinct scalar for ECDH (made into
PKCS #8 with ``cryptography``), per distinct key for HMAC. For each file the first import and
the first operation go through a real boto3 client; the rest use ``LocalKMS.call`` (same
validation and handlers, without botocore's cost).

- RSA-OAEP, Decrypt: rsa_oaep_2048_sha1_mgf1sha1, rsa_oaep_{2048,3072,4096}_sha256_mgf1sha256,
  empty label only (KMS has no OAEP label). valid: the message; invalid:
  InvalidCiphertextException.
- RSASSA-PKCS1-v1_5, Sign (deterministic, so compared byte for byte):
  rsa_pkcs1_{2048,3072,4096}_sig_gen. Left out: groups hashing with SHA-1 or SHA-224 (KMS
  signs with SHA-256/384/512 only) and the groups whose key has e = 3 (whether AWS KMS
  imports such a key is not documented).
- ECDH, DeriveSharedSecret: ecdh_secp{256r1,384r1,521r1}. valid: the shared x-coordinate;
  invalid: ValidationException; acceptable: either, and the right secret if answered.
  Subset, as each distinct private key costs an import and the files are large (612 to
  1047 vectors): every invalid vector, and the valid and acceptable vectors of the four
  private keys used most (all the InvalidAsn vectors and most EdgeCaseSharedSecret ones),
  with the EdgeCaseDoubling vectors (185 to 641 a file, all on one key) thinned to every
  tenth.
- HMAC, GenerateMac and VerifyMac: hmac_sha{224,256,384,512}, the group whose key and tag
  sizes are the spec's (KMS HMAC keys have a fixed size; KMS tags are never truncated).
  valid: the tag, and VerifyMac accepts it; invalid: another tag, and VerifyMac refuses the
  vector's with KMSInvalidMacException. Subset: all invalid vectors (they share one key)
  and every third valid vector (each has its own key), plus the last.

The API does not take an empty Message or CiphertextBlob (minimum length 1 in AWS's model):
vectors with one are run, and must be refused with ValidationException, as AWS refuses them.
The summary counts them apart.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pytest
from botocore import xform_name
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric import ec

from kmslab import specs
from kmslab.exceptions import KMSError
from kmslab.kms.service import LocalKMS
from tests.kms.test_lifecycle import import_material, pkcs8
from tests.wycheproof import Group, Test, h, load

OAEP_FILES = [
    "rsa_oaep_2048_sha1_mgf1sha1_test.json",
    *(f"rsa_oaep_{n}_sha256_mgf1sha256_test.json" for n in (2048, 3072, 4096)),
]
SIG_GEN_FILES = [f"rsa_pkcs1_{n}_sig_gen_test.json" for n in (2048, 3072, 4096)]
ECDH_FILES = [f"ecdh_{c}_test.json" for c in ("secp256r1", "secp384r1", "secp521r1")]
HMAC_FILES = [f"hmac_sha{n}_test.json" for n in (224, 256, 384, 512)]
ECDH_KEYS_KEPT = 4
ECDH_DOUBLING_STEP = 10
Call = Callable[..., Any]


@dataclass
class Result:
    """What one file's vectors did through the API."""

    name: str
    ran: Counter[str] = field(default_factory=Counter)  # by vector result
    matched: int = 0
    refused_empty: int = 0  # empty Message/CiphertextBlob, refused as AWS refuses it
    imports: int = 0
    mismatches: list[str] = field(default_factory=list)

    def record(self, test: Test, ok: bool, got: object, *, empty: bool = False) -> None:
        self.ran[test["result"]] += 1
        self.matched += ok
        self.refused_empty += ok and empty
        if not ok:
            self.mismatches.append(f"tcId {test['tcId']} ({test['result']}): got {got!r:.120}")

    @property
    def total(self) -> int:
        return sum(self.ran.values())

    def line(self) -> str:
        kinds = ", ".join(f"{n} {r}" for r, n in sorted(self.ran.items()))
        return (
            f"{self.name}: {self.total} ran ({kinds}), {self.matched} matched, "
            f"{self.refused_empty} of them empty input refused; {self.imports} keys imported"
        )


# -- the API ---------------------------------------------------------------------------------


@cache
def _api() -> tuple[LocalKMS, Call]:
    """One LocalKMS for the module, and a call-by-operation-name front for its boto3 client."""
    kms = LocalKMS()
    client = kms.client()

    def via_boto3(operation: str, **params: Any) -> Any:
        return getattr(client, xform_name(operation))(**params)

    return kms, via_boto3


class Callers:
    """boto3 for a file's first import and first operation; LocalKMS.call after that.

    botocore checks parameters on the client side, so a call with an empty Message or
    CiphertextBlob always goes to LocalKMS.call, whose server-side check answers as AWS's.
    """

    def __init__(self) -> None:
        self.kms, self.boto3_call = _api()
        self.boto3_left = {"import": True, "operation": True}

    def next(self, kind: str, *, empty: bool = False) -> Call:
        if self.boto3_left[kind] and not empty:
            self.boto3_left[kind] = False
            return self.boto3_call
        return self.kms.call


def _import(call: Call, spec: str, usage: str, material: bytes, algorithm: str) -> str:
    key_id = str(
        call("CreateKey", KeySpec=spec, KeyUsage=usage, Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    )
    import_material(call, key_id, material, algorithm)
    return key_id


def _outcome(call: Call, operation: str, field_name: str, **params: Any) -> object:
    """The response field, or the AWS error code the call failed with."""
    try:
        return call(operation, **params)[field_name]
    except KMSError as err:
        return err.code
    except ClientError as err:
        return str(err.response["Error"]["Code"])


# -- RSA-OAEP ----------------------------------------------------------------------------------


@cache
def run_oaep(name: str) -> Result:
    result = Result(name)
    callers = Callers()
    for group in load(name)["testGroups"]:
        assert group["mgfSha"] == group["sha"]
        alg = "RSAES_OAEP_" + group["sha"].replace("-", "_")
        spec = f"RSA_{group['keySize']}"
        assert specs.get(spec).algorithm(alg) is not None
        # RSA private keys are too long for RSAES_OAEP wrapping: AWS asks for RSA_AES_KEY_WRAP.
        key_id = _import(
            callers.next("import"),
            spec,
            "ENCRYPT_DECRYPT",
            h(group["privateKeyPkcs8"]),
            "RSA_AES_KEY_WRAP_SHA_256",
        )
        result.imports += 1
        for test in group["tests"]:
            if test["label"]:
                continue
            blob = h(test["ct"])
            got = _outcome(
                callers.next("operation", empty=not blob),
                "Decrypt",
                "Plaintext",
                KeyId=key_id,
                CiphertextBlob=blob,
                EncryptionAlgorithm=alg,
            )
            if not blob:
                result.record(test, got == "ValidationException", got, empty=True)
            elif test["result"] == "valid":
                result.record(test, got == h(test["msg"]), got)
            else:
                assert test["result"] == "invalid"
                result.record(test, got == "InvalidCiphertextException", got)
    return result


# -- RSASSA-PKCS1-v1_5 signing -------------------------------------------------------------------


def _sig_gen_groups(name: str) -> Iterator[tuple[Group, str]]:
    for group in load(name)["testGroups"]:
        alg = "RSASSA_PKCS1_V1_5_" + group["sha"].replace("-", "_")
        info = specs.get(f"RSA_{group['keySize']}")
        if info.algorithm(alg) is None or group["privateKey"]["publicExponent"] != "010001":
            continue
        yield group, alg


@cache
def run_sig_gen(name: str) -> Result:
    result = Result(name)
    callers = Callers()
    imported: dict[str, str] = {}  # PKCS #8 hex -> key id: one import per distinct key
    for group, alg in _sig_gen_groups(name):
        der = group["privateKeyPkcs8"]
        if der not in imported:
            spec = f"RSA_{group['keySize']}"
            imported[der] = _import(
                callers.next("import"), spec, "SIGN_VERIFY", h(der), "RSA_AES_KEY_WRAP_SHA_1"
            )
            result.imports += 1
        for test in group["tests"]:
            message = h(test["msg"])
            got = _outcome(
                callers.next("operation", empty=not message),
                "Sign",
                "Signature",
                KeyId=imported[der],
                Message=message,
                MessageType="RAW",
                SigningAlgorithm=alg,
            )
            if not message:
                result.record(test, got == "ValidationException", got, empty=True)
            else:  # valid or acceptable (weak hash, small key): signing is deterministic
                result.record(test, got == h(test["sig"]), got)
    return result


# -- ECDH --------------------------------------------------------------------------------------


def _ecdh_selection(name: str) -> tuple[Group, list[Test]]:
    (group,) = load(name)["testGroups"]
    assert group["encoding"] == "asn"
    uses = Counter(t["private"] for t in group["tests"])
    kept = {k for k, _ in uses.most_common(ECDH_KEYS_KEPT)}
    tests = [t for t in group["tests"] if t["result"] == "invalid" or t["private"] in kept]
    doubling = [t for t in tests if "EdgeCaseDoubling" in t["flags"]]
    thinned = {t["tcId"] for t in doubling[::ECDH_DOUBLING_STEP]}
    return group, [t for t in tests if t not in doubling or t["tcId"] in thinned]


_CURVE_SPECS = {info.curve: info for info in specs.for_usage("KEY_AGREEMENT")}


@cache
def run_ecdh(name: str) -> Result:
    result = Result(name)
    callers = Callers()
    group, tests = _ecdh_selection(name)
    info = _CURVE_SPECS[group["curve"]]
    curve = getattr(ec, group["curve"].upper())()
    imported: dict[int, str] = {}
    for test in tests:
        scalar = int(test["private"], 16)
        if scalar not in imported:
            material = pkcs8(ec.derive_private_key(scalar, curve))
            # A P-521 PKCS #8 key is too long for RSAES_OAEP under RSA_2048: AES key wrap it.
            wrapping = "RSAES_OAEP_SHA_256" if len(material) <= 190 else "RSA_AES_KEY_WRAP_SHA_1"
            call = callers.next("import")
            imported[scalar] = _import(call, info.name, "KEY_AGREEMENT", material, wrapping)
            result.imports += 1
        public = h(test["public"])
        got = _outcome(
            callers.next("operation", empty=not public),
            "DeriveSharedSecret",
            "SharedSecret",
            KeyId=imported[scalar],
            KeyAgreementAlgorithm="ECDH",
            PublicKey=public,
        )
        if test["result"] == "valid":
            result.record(test, got == h(test["shared"]), got)
        elif test["result"] == "invalid":
            result.record(test, got == "ValidationException", got, empty=not public)
        else:  # acceptable: refused, or the right secret
            result.record(test, got in ("ValidationException", h(test["shared"])), got)
    return result


# -- HMAC ----------------------------------------------------------------------------------------


def _hmac_selection(name: str) -> tuple[int, list[Test]]:
    bits = int(load(name)["algorithm"].removeprefix("HMACSHA"))
    (group,) = [g for g in load(name)["testGroups"] if g["keySize"] == g["tagSize"] == bits]
    valid = [t for t in group["tests"] if t["result"] == "valid"]
    invalid = [t for t in group["tests"] if t["result"] == "invalid"]
    return bits, [*valid[::3], *valid[-1:], *invalid]


@cache
def run_hmac(name: str) -> Result:
    result = Result(name)
    callers = Callers()
    bits, tests = _hmac_selection(name)
    spec, alg = f"HMAC_{bits}", f"HMAC_SHA_{bits}"
    imported: dict[str, str] = {}
    for test in tests:
        if test["key"] not in imported:
            imported[test["key"]] = _import(
                callers.next("import"),
                spec,
                "GENERATE_VERIFY_MAC",
                h(test["key"]),
                "RSAES_OAEP_SHA_1",
            )
            result.imports += 1
        key_id, message, tag = imported[test["key"]], h(test["msg"]), h(test["tag"])
        call = callers.next("operation", empty=not message)
        got = _outcome(call, "GenerateMac", "Mac", KeyId=key_id, Message=message, MacAlgorithm=alg)
        verdict = _outcome(
            call, "VerifyMac", "MacValid", KeyId=key_id, Message=message, Mac=tag, MacAlgorithm=alg
        )
        if not message:
            ok = got == verdict == "ValidationException"
            result.record(test, ok, (got, verdict), empty=True)
        elif test["result"] == "valid":
            result.record(test, got == tag and verdict is True, (got, verdict))
        else:
            ok = isinstance(got, bytes) and got != tag and verdict == "KMSInvalidMacException"
            result.record(test, ok, (got, verdict))
    return result


# -- the tests ---------------------------------------------------------------------------------

RUNNERS: dict[str, Callable[[str], Result]] = {
    **dict.fromkeys(OAEP_FILES, run_oaep),
    **dict.fromkeys(SIG_GEN_FILES, run_sig_gen),
    **dict.fromkeys(ECDH_FILES, run_ecdh),
    **dict.fromkeys(HMAC_FILES, run_hmac),
}


def _check(result: Result) -> None:
    assert result.total > 0, f"no vectors ran from {result.name}"
    assert result.ran["valid"] > 0, result.line()
    assert not result.mismatches, f"{result.line()}\n" + "\n".join(result.mismatches[:20])
    assert result.matched == result.total


@pytest.mark.parametrize("name", OAEP_FILES)
def test_rsa_oaep_decrypt_with_imported_key(name: str) -> None:
    result = run_oaep(name)
    _check(result)
    assert result.ran["invalid"] > 0


@pytest.mark.parametrize("name", SIG_GEN_FILES)
def test_rsa_pkcs1_sign_with_imported_key(name: str) -> None:
    _check(run_sig_gen(name))


@pytest.mark.parametrize("name", ECDH_FILES)
def test_ecdh_with_imported_key(name: str) -> None:
    result = run_ecdh(name)
    _check(result)
    assert result.ran["invalid"] > 0 and result.ran["acceptable"] > 0


@pytest.mark.parametrize("name", HMAC_FILES)
def test_hmac_with_imported_key(name: str) -> None:
    result = run_hmac(name)
    _check(result)
    assert result.ran["invalid"] > 0


def test_summary(capsys: pytest.CaptureFixture[str]) -> None:
    """Every file's counts (runs the files not run yet); fails if no vector ran."""
    results = [runner(name) for name, runner in RUNNERS.items()]
    total = sum(r.total for r in results)
    matched = sum(r.matched for r in results)
    with capsys.disabled():
        print("\nWycheproof vectors through the KMS API on imported keys:")
        for r in results:
            print("  " + r.line())
        print(f"  total: {total} ran, {matched} matched")
    assert total > 0
    assert all(r.total > 0 for r in results)
    assert matched == total
