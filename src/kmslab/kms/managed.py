"""AWS managed keys: the ``alias/aws/<service>`` keys AWS creates in your account on first use.

Every account and Region has a set of predefined aliases; ListAliases lists them without a
TargetKeyId until a service (or a caller naming the alias) first uses one. At that moment
AWS creates the AWS managed key behind it: a symmetric encryption key with KeyManager AWS,
a fixed key policy that lets the owning service use it for the account, and automatic
rotation every year. The customer may read it (Describe*, Get*, List*) but not manage it.

>>> from kmslab import LocalKMS
>>> kms = LocalKMS()
>>> meta = kms.call("DescribeKey", KeyId="alias/aws/s3")["KeyMetadata"]
>>> meta["KeyManager"], meta["Description"]
('AWS', 'Default master key that protects my S3 objects when no other key is defined')

Sources: ListAliases in the AWS KMS API Reference ("The response might also include aliases
that have no TargetKeyId field. These are predefined aliases that AWS has created but has
not yet associated with a KMS key"); "AWS managed keys" in the AWS KMS Developer Guide
(concepts.html#aws-managed-key: created on first use, rotated every year, policy not
editable); RotateKeyOnDemand ("You cannot initiate on-demand rotation of AWS managed KMS
keys. KMS always rotates the key material of AWS managed keys every year").
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from kmslab import specs
from kmslab.crypto import family
from kmslab.kms.keys import Key, Material, new_material_id

if TYPE_CHECKING:
    from kmslab.kms.service import LocalKMS

__all__ = [
    "PREDEFINED",
    "ROTATION_DAYS",
    "ManagedAlias",
    "create",
    "policy",
]

#: AWS rotates every AWS managed key once a year; the customer cannot change that.
ROTATION_DAYS = 365
_PREFIX = "alias/aws/"


@dataclass(frozen=True, slots=True)
class ManagedAlias:
    """One predefined alias: ``alias/aws/<service>`` and what its key's metadata says.

    ``title`` and ``noun`` complete AWS's description "Default master key that protects my
    <title> <noun> when no other key is defined"; ``endpoint`` is the service's endpoint
    prefix, which the key policy names in ``kms:ViaService``
    (``<endpoint>.<region>.amazonaws.com``).
    """

    service: str
    title: str
    noun: str
    endpoint: str

    @property
    def name(self) -> str:
        return _PREFIX + self.service

    @property
    def description(self) -> str:
        return (
            f"Default master key that protects my {self.title} {self.noun} when no other key "
            "is defined"
        )


#: The predefined aliases of a new account, as a real account's ListAliases returned them
#: (without TargetKeyId; alias/aws/secretsmanager had been used): a user's published
#: ListAliases output, https://pastebin.com/mT3P2ZRP. AWS adds aliases when services adopt
#: AWS managed keys; this is the list that output shows, not a complete list for today.
#: Descriptions observed in published describe-key outputs: S3 objects, EBS volumes, Glue
#: data; the others follow the same pattern (inferred).
PREDEFINED: dict[str, ManagedAlias] = {
    a.name: a
    for a in (
        ManagedAlias("dynamodb", "DynamoDB", "data", "dynamodb"),
        ManagedAlias("ebs", "EBS", "volumes", "ec2"),
        ManagedAlias("elasticfilesystem", "EFS", "file systems", "elasticfilesystem"),
        ManagedAlias("es", "Elasticsearch", "data", "es"),
        ManagedAlias("glue", "Glue", "data", "glue"),
        ManagedAlias("kinesisvideo", "Kinesis Video Streams", "data", "kinesisvideo"),
        ManagedAlias("rds", "RDS", "database volumes", "rds"),
        ManagedAlias("redshift", "Redshift", "data", "redshift"),
        ManagedAlias("s3", "S3", "objects", "s3"),
        ManagedAlias("secretsmanager", "Secrets Manager", "data", "secretsmanager"),
        ManagedAlias("ssm", "SSM", "parameters", "ssm"),
        ManagedAlias("xray", "X-Ray", "data", "xray"),
    )
}


def policy(alias: ManagedAlias, account: str, region: str) -> str:
    """The key policy AWS attaches to an AWS managed key (the customer cannot change it).

    Shape as AWS documents and shows it for aws/s3 (Id "auto-s3-2"): use through the
    service for every principal of the account, and read access for the account.
    kmslab.kms.access evaluates it like any key policy: no request reaches the local KMS
    through an AWS service (kms:ViaService is never set), so customers may describe, get
    and list, and everything else is AccessDeniedException, as AWS refuses direct use and
    management of AWS managed keys.
    """
    service = alias.title
    arn_partition = specs.partition(region)
    root = f"arn:{arn_partition.name}:iam::{account}:root"
    domain = arn_partition.dns_suffix  # amazonaws.com.cn in the China Regions
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Id": f"auto-{alias.service}-2",
            "Statement": [
                {
                    "Sid": f"Allow access through {service} for all principals in the account "
                    f"that are authorized to use {service}",
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": [
                        "kms:Encrypt",
                        "kms:Decrypt",
                        "kms:ReEncrypt*",
                        "kms:GenerateDataKey*",
                        "kms:DescribeKey",
                    ],
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {
                            "kms:CallerAccount": account,
                            "kms:ViaService": f"{alias.endpoint}.{region}.{domain}",
                        }
                    },
                },
                {
                    "Sid": "Allow direct access to key metadata to the account",
                    "Effect": "Allow",
                    "Principal": {"AWS": root},
                    "Action": ["kms:Describe*", "kms:Get*", "kms:List*"],
                    "Resource": "*",
                },
            ],
        },
        indent=2,
    )


def create(kms: LocalKMS, alias_name: str) -> Key | None:
    """The AWS managed key behind a predefined alias, created now if it is not yet; None if
    ``alias_name`` is not a predefined alias. Also records the alias (with TargetKeyId)."""
    alias = PREDEFINED.get(alias_name)
    if alias is None:
        return None
    info = specs.get("SYMMETRIC_DEFAULT")
    now = kms.clock.now()
    key_id = str(uuid.uuid4())
    key = Key(
        id=key_id,
        arn=kms.key_arn(key_id),
        account=kms.account,
        info=info,
        usage="ENCRYPT_DECRYPT",
        origin="AWS_KMS",
        created=now,
        description=alias.description,
        policy=policy(alias, kms.account, kms.region),
        manager="AWS",
        region=kms.region,
        rotation_enabled=True,
        rotation_period_days=ROTATION_DAYS,
        next_rotation=now + timedelta(days=ROTATION_DAYS),
        family=info.family_in(kms.partition.china),  # SM4 in the China Regions
    )
    key.materials.append(Material(new_material_id(), family(key.family).generate(info), now))
    kms.keys[key_id] = key
    kms.schedule("rotate", key_id, key.next_rotation)
    kms.aliases[alias_name] = {
        "AliasName": alias_name,
        "AliasArn": kms.alias_arn(alias_name),
        "TargetKeyId": key_id,
        "CreationDate": now,
        "LastUpdatedDate": now,
    }
    return key


def count(kms: LocalKMS) -> int:
    """How many AWS managed keys this Region holds (at most one per predefined alias)."""
    return sum(1 for name in PREDEFINED if kms.aliases.get(name, {}).get("TargetKeyId"))
