"""Where each key spec can live: the partitions that offer it, and custom key stores.

The second dimension of the operations matrix (:mod:`kmslab.learn.matrix`): not what a key
can do, but where it can exist. :func:`derived_availability` reads the catalogue
(:data:`kmslab.specs.PARTITIONS`, each row's ``regions``) and AWS's rule that custom key
stores hold symmetric encryption keys only; :func:`measured_availability` asks a local KMS
in one Region of each partition, and one AWS CloudHSM key store, to create a key of every
spec. ``kmslab compare --check`` holds the two against each other.

>>> derived = derived_availability()
>>> derived[("SM2", "aws")], derived[("SM2", "aws-cn")], derived[("RSA_2048", "custom key store")]
(False, True, False)
"""

from __future__ import annotations

from kmslab import specs
from kmslab.exceptions import KMSError

__all__ = [
    "CUSTOM_KEY_STORE",
    "PLACES",
    "availability_diff",
    "availability_text",
    "derived_availability",
    "measured_availability",
]

CUSTOM_KEY_STORE = "custom key store"
#: The columns: each partition, then custom key stores.
PLACES: tuple[str, ...] = (*(p.name for p in specs.PARTITIONS), CUSTOM_KEY_STORE)

Availability = dict[tuple[str, str], bool]


def _region(partition: specs.Partition) -> str:
    return partition.regions[0] if partition.regions else "us-east-1"


def derived_availability() -> Availability:
    """(KeySpec, place) -> whether AWS KMS lets a key of that spec live there."""
    out: Availability = {}
    for info in specs.all_specs():
        for part in specs.PARTITIONS:
            out[(info.name, part.name)] = specs.offered(info, _region(part))
        # CreateKey API reference: keys in custom key stores are SYMMETRIC_DEFAULT only.
        out[(info.name, CUSTOM_KEY_STORE)] = info.name == "SYMMETRIC_DEFAULT"
    return out


def measured_availability() -> Availability:
    """The same, from CreateKey calls: Origin EXTERNAL keys (no key generation) in one
    Region of each partition, and AWS_CLOUDHSM keys in a connected CloudHSM key store."""
    from kmslab.kms.service import LocalKMS

    out: Availability = {}
    for part in specs.PARTITIONS:
        kms = LocalKMS(region=_region(part))
        for info in specs.all_specs():
            usage = info.default_usage or info.usage_names[0]
            try:
                kms.call("CreateKey", KeySpec=info.name, KeyUsage=usage, Origin="EXTERNAL")
                out[(info.name, part.name)] = True
            except KMSError:
                out[(info.name, part.name)] = False
    kms = LocalKMS()
    cluster = kms.cloudhsm.create(hsms=2, kmsuser_password="kmsPswd")
    store = kms.call(
        "CreateCustomKeyStore",
        CustomKeyStoreName="availability",
        CloudHsmClusterId=cluster.id,
        TrustAnchorCertificate=cluster.trust_anchor,
        KeyStorePassword="kmsPswd",
    )["CustomKeyStoreId"]
    kms.call("ConnectCustomKeyStore", CustomKeyStoreId=store)
    for info in specs.all_specs():
        usage = info.default_usage or info.usage_names[0]
        try:
            kms.call(
                "CreateKey",
                KeySpec=info.name,
                KeyUsage=usage,
                Origin="AWS_CLOUDHSM",
                CustomKeyStoreId=store,
            )
            out[(info.name, CUSTOM_KEY_STORE)] = True
        except KMSError:
            out[(info.name, CUSTOM_KEY_STORE)] = False
    return out


def availability_diff(derived: Availability, measured: Availability) -> list[str]:
    """One line per (spec, place) where the two disagree."""
    return [
        f"{spec} in {place}: derived {want}, measured {measured.get((spec, place))}"
        for (spec, place), want in derived.items()
        if measured.get((spec, place)) != want
    ]


def availability_text(table: Availability) -> str:
    """A text table: one row per key spec, one column per place."""
    names = [info.name for info in specs.all_specs()]
    width = max(len(n) for n in names) + 2
    head = ("KeySpec".ljust(width) + "  ".join(p.ljust(10) for p in PLACES)).rstrip()
    rows = [
        (
            name.ljust(width)
            + "  ".join(("yes" if table[(name, p)] else "-").ljust(10) for p in PLACES)
        ).rstrip()
        for name in names
    ]
    return "\n".join([head, *rows])
