"""The China Regions: the aws-cn partition, SM4 for SYMMETRIC_DEFAULT, and SM2 keys at work.

Every call goes through a real boto3 client of a cn-north-1 LocalKMS; results are checked
with tools kmslab did not write (cryptography's SM4, the openssl command line).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives import hashes

from kmslab import LocalKMS, specs
from kmslab.crypto import sm2, sm4
from kmslab.kms import ciphertext
from kmslab.kms.byok import wrap_key_material

pytestmark = pytest.mark.skipif(not sm2.available(), reason="no OpenSSL 3 libcrypto")
NOT_HERE = "UnsupportedOperationException"


@pytest.mark.parametrize(
    ("region", "partition"),
    [("cn-north-1", "aws-cn"), ("cn-northwest-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov"),
     ("eu-west-1", "aws"), ("ap-southeast-7", "aws")],
)  # fmt: skip
def test_partitions_shape_arns_and_policies(region, partition) -> None:
    kms = LocalKMS(region=region)
    meta = kms.call("CreateKey")["KeyMetadata"]
    assert meta["Arn"] == f"arn:{partition}:kms:{region}:111122223333:key/{meta['KeyId']}"
    # The default key policy names the root in the Region's partition (see below); IAM users
    # and roles keep arn:aws ARNs: kmslab's IAM model has one partition. A key's ARN from
    # its own partition resolves; one from another partition does not.
    assert kms.call("DescribeKey", KeyId=meta["Arn"])["KeyMetadata"]["KeyId"] == meta["KeyId"]


def test_spec_availability_is_the_catalogue(aws_error) -> None:
    for region in ("us-east-1", "cn-north-1"):
        kms = LocalKMS(region=region)
        for info in specs.all_specs():
            usage = info.usage_names[0]
            if specs.offered(info, region):
                kms.call("CreateKey", KeySpec=info.name, KeyUsage=usage)
                continue
            message = f"KeySpec {info.name} is not supported in this Region"
            with aws_error(NOT_HERE, message):
                kms.call("CreateKey", KeySpec=info.name, KeyUsage=usage)
    assert not specs.offered("SM2", "us-east-1") and specs.offered("SM2", "cn-northwest-1")
    assert not specs.offered("ML_KEM_512", "cn-north-1") and specs.offered(
        "ML_DSA_44", "cn-north-1"
    )


def test_sm4_protects_symmetric_default(client_cn, kms_cn) -> None:
    key_id = client_cn.create_key()["KeyMetadata"]["KeyId"]
    blob = client_cn.encrypt(
        KeyId=key_id, Plaintext=b"SM4 in Beijing", EncryptionContext={"a": "b"}
    )["CiphertextBlob"]
    assert client_cn.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "b"})["Plaintext"] == (
        b"SM4 in Beijing"
    )
    # Independently: the blob opens with SM4-GCM under the 16-byte key, and not as AES.
    material = kms_cn.keys[key_id].current
    assert material is not None and kms_cn.keys[key_id].family == "sm4"
    assert len(material.secret) == 16
    parsed = ciphertext.parse(blob)
    aad = parsed.aad({"a": "b"})
    assert (
        sm4.SM4GCM(material.secret).decrypt(parsed.nonce, parsed.sealed, aad) == b"SM4 in Beijing"
    )
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    with pytest.raises(Exception):  # noqa: B017 - any failure: it is not AES-GCM
        AESGCM(material.secret).decrypt(parsed.nonce, parsed.sealed, aad)
    data_key = client_cn.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    assert (
        client_cn.decrypt(CiphertextBlob=data_key["CiphertextBlob"])["Plaintext"]
        == (data_key["Plaintext"])
    )


def test_sm4_rotation_keeps_old_ciphertexts(client_cn) -> None:
    key_id = client_cn.create_key()["KeyMetadata"]["KeyId"]
    old = client_cn.encrypt(KeyId=key_id, Plaintext=b"v1")["CiphertextBlob"]
    client_cn.rotate_key_on_demand(KeyId=key_id)
    assert client_cn.decrypt(CiphertextBlob=old)["Plaintext"] == b"v1"


def test_sm2_sign_and_verify(client_cn, keys, aws_error) -> None:
    key_id = keys.id("SM2", "SIGN_VERIFY")
    public = sm2.load_public(client_cn.get_public_key(KeyId=key_id)["PublicKey"])
    alg = specs.get("SM2").algorithm("SM2DSA")
    message = b"signed in the China Regions"
    sig = client_cn.sign(KeyId=key_id, Message=message, SigningAlgorithm="SM2DSA")["Signature"]
    sm2.verify(public, alg, message, "RAW", sig)  # offline, as a relying party would
    h = hashes.Hash(hashes.SM3())
    h.update(sm2.sm3_z(public) + message)
    e = h.finalize()
    sig2 = client_cn.sign(KeyId=key_id, Message=e, MessageType="DIGEST", SigningAlgorithm="SM2DSA")[
        "Signature"
    ]
    assert client_cn.verify(
        KeyId=key_id, Message=message, Signature=sig2, SigningAlgorithm="SM2DSA"
    )["SignatureValid"]
    with aws_error("KMSInvalidSignatureException"):
        client_cn.verify(KeyId=key_id, Message=b"other", Signature=sig, SigningAlgorithm="SM2DSA")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not on PATH")
def test_openssl_verifies_kms_signature_with_the_public_key(client_cn, keys, tmp_path) -> None:
    key_id = keys.id("SM2", "SIGN_VERIFY")
    (tmp_path / "pub.der").write_bytes(client_cn.get_public_key(KeyId=key_id)["PublicKey"])
    (tmp_path / "msg").write_bytes(b"offline verification")
    (tmp_path / "sig").write_bytes(
        client_cn.sign(KeyId=key_id, Message=b"offline verification", SigningAlgorithm="SM2DSA")[
            "Signature"
        ]
    )
    out = subprocess.run(
        ["openssl", "dgst", "-sm3", "-verify", tmp_path / "pub.der", "-keyform", "DER",
         "-sigopt", "distid:1234567812345678", "-signature", tmp_path / "sig", tmp_path / "msg"],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr


def test_sm2pke_encryption(client_cn, keys, aws_error) -> None:
    key_id = keys.id("SM2", "ENCRYPT_DECRYPT")
    public = sm2.load_public(client_cn.get_public_key(KeyId=key_id)["PublicKey"])
    alg = specs.get("SM2").algorithm("SM2PKE")
    offline = sm2.encrypt(public, alg, b"x" * 1024)  # encrypted outside KMS, decrypted inside
    out = client_cn.decrypt(KeyId=key_id, CiphertextBlob=offline, EncryptionAlgorithm="SM2PKE")
    assert out["Plaintext"] == b"x" * 1024
    with aws_error("ValidationException"):
        client_cn.encrypt(KeyId=key_id, Plaintext=b"x" * 1025, EncryptionAlgorithm="SM2PKE")
    with aws_error("InvalidCiphertextException"):
        client_cn.decrypt(KeyId=key_id, CiphertextBlob=offline[:-1], EncryptionAlgorithm="SM2PKE")


def test_sm2_key_agreement(client_cn, keys) -> None:
    key_id = keys.id("SM2", "KEY_AGREEMENT")
    kms_public = client_cn.get_public_key(KeyId=key_id)["PublicKey"]
    mine = sm2.generate(specs.get("SM2"))
    shared = client_cn.derive_shared_secret(
        KeyId=key_id, KeyAgreementAlgorithm="ECDH", PublicKey=sm2.public_der(mine)
    )["SharedSecret"]
    assert shared == sm2.derive(mine, kms_public) and len(shared) == 32


def test_sm2_data_key_pairs(client_cn) -> None:
    key_id = client_cn.create_key()["KeyMetadata"]["KeyId"]
    out = client_cn.generate_data_key_pair(KeyId=key_id, KeyPairSpec="SM2")
    private = sm2.load(specs.get("SM2"), out["PrivateKeyPlaintext"])
    assert sm2.public_der(private) == out["PublicKey"]
    again = client_cn.decrypt(CiphertextBlob=out["PrivateKeyCiphertextBlob"])["Plaintext"]
    assert again == out["PrivateKeyPlaintext"]


def test_import_with_sm2_wrapping(client_cn, aws_error) -> None:
    key_id = client_cn.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    params = client_cn.get_parameters_for_import(
        KeyId=key_id, WrappingAlgorithm="SM2PKE", WrappingKeySpec="SM2"
    )
    assert sm2.load_public(params["PublicKey"])
    with aws_error("IncorrectKeyMaterialException"):  # SM4 keys are 16 bytes, not 32
        client_cn.import_key_material(
            KeyId=key_id,
            ImportToken=params["ImportToken"],
            EncryptedKeyMaterial=wrap_key_material(params["PublicKey"], "SM2PKE", os.urandom(32)),
            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
        )
    material = os.urandom(16)
    client_cn.import_key_material(
        KeyId=key_id,
        ImportToken=params["ImportToken"],
        EncryptedKeyMaterial=wrap_key_material(params["PublicKey"], "SM2PKE", material),
        ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
    )
    blob = client_cn.encrypt(KeyId=key_id, Plaintext=b"mine")["CiphertextBlob"]
    parsed = ciphertext.parse(blob)
    assert sm4.SM4GCM(material).decrypt(parsed.nonce, parsed.sealed, parsed.aad(None)) == b"mine"
    # An SM2 private key imported under SM2 wrapping: the key signs as the material says.
    sm2_key = client_cn.create_key(KeySpec="SM2", KeyUsage="SIGN_VERIFY", Origin="EXTERNAL")
    sm2_id = sm2_key["KeyMetadata"]["KeyId"]
    params = client_cn.get_parameters_for_import(
        KeyId=sm2_id, WrappingAlgorithm="SM2PKE", WrappingKeySpec="SM2"
    )
    mine = sm2.generate(specs.get("SM2"))
    client_cn.import_key_material(
        KeyId=sm2_id,
        ImportToken=params["ImportToken"],
        EncryptedKeyMaterial=wrap_key_material(
            params["PublicKey"], "SM2PKE", sm2.private_der(mine)
        ),
        ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
    )
    assert client_cn.get_public_key(KeyId=sm2_id)["PublicKey"] == sm2.public_der(mine)


def test_sm2_outside_china(client, keys, aws_error) -> None:
    with aws_error(NOT_HERE, "KeySpec SM2 is not supported in this Region"):
        client.create_key(KeySpec="SM2", KeyUsage="SIGN_VERIFY")
    key_id = client.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    with aws_error(NOT_HERE, "WrappingKeySpec SM2 is not supported in this Region"):
        client.get_parameters_for_import(
            KeyId=key_id, WrappingAlgorithm="SM2PKE", WrappingKeySpec="SM2"
        )


def test_a_stored_china_region_keeps_sm4_and_sm2(tmp_path) -> None:
    path = tmp_path / "kms.db"
    with LocalKMS(region="cn-north-1", store=path) as kms:
        sym = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
        sm2_id = kms.call("CreateKey", KeySpec="SM2", KeyUsage="SIGN_VERIFY")["KeyMetadata"][
            "KeyId"
        ]
        blob = kms.call("Encrypt", KeyId=sym, Plaintext=b"kept")["CiphertextBlob"]
        public = kms.call("GetPublicKey", KeyId=sm2_id)["PublicKey"]
    with LocalKMS(region="cn-north-1", store=path) as again:
        assert again.call("Decrypt", CiphertextBlob=blob)["Plaintext"] == b"kept"
        assert again.call("GetPublicKey", KeyId=sm2_id)["PublicKey"] == public
        assert again.keys[sym].family == "sm4"


@pytest.mark.parametrize(
    ("region", "arn"), [("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")]
)
def test_key_policies_name_the_root_in_the_regions_partition(region: str, arn: str) -> None:
    """The default and AWS managed key policies name arn:<partition>:iam::<account>:root, and
    the account's principals are still allowed by them."""
    kms = LocalKMS(region=region)
    key_id = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
    (statement,) = json.loads(kms.call("GetKeyPolicy", KeyId=key_id)["Policy"])["Statement"]
    assert statement["Principal"] == {"AWS": f"arn:{arn}:iam::111122223333:root"}
    blob = kms.call("Encrypt", KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    assert kms.call("Decrypt", CiphertextBlob=blob)["Plaintext"] == b"x"
    managed = kms.call("DescribeKey", KeyId="alias/aws/s3")["KeyMetadata"]["KeyId"]
    policy = json.loads(kms.call("GetKeyPolicy", KeyId=managed)["Policy"])
    assert policy["Statement"][1]["Principal"] == {"AWS": f"arn:{arn}:iam::111122223333:root"}
    suffix = ".amazonaws.com.cn" if arn == "aws-cn" else ".amazonaws.com"
    via = policy["Statement"][0]["Condition"]["StringEquals"]["kms:ViaService"]
    assert via == f"s3.{region}{suffix}"
