"""Planning and running a benchmark: which (key spec, operation) pairs to time, timing each on
its layer, grouping by security strength, and writing the results (:mod:`kmslab.bench`).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from kmslab import specs
from kmslab.bench.calls import Subject, catalogue_bytes
from kmslab.bench.progress import Progress
from kmslab.bench.records import (
    FAMILIES,
    KMS_API,
    LAYERS,
    MESSAGE_BYTES,
    ONE_KEY_PER_SAMPLE_S,
    OPERATIONS_BY_KIND,
    PREFERRED_HASH,
    SLOW_KEYGEN_S,
    Layer,
    Mode,
    Record,
    Results,
    Task,
    _load_average,
    _mode,
    environment,
    format_time,
    implementation,
)
from kmslab.bench.timing import _run, _summary, time_callable, time_interleaved
from kmslab.crypto import family
from kmslab.specs import region_for as _region_for  # ``specs`` is also a parameter name below

__all__ = [
    "benchmark",
    "by_strength",
    "format_by_strength",
    "plan",
    "read_json",
    "select_specs",
    "strength_groups",
    "write_csv",
    "write_json",
]


def _implemented(info: specs.KeySpecInfo) -> bool:
    """Whether this machine can run the family (SM2 needs OpenSSL 3's libcrypto)."""
    return bool(getattr(family(info.family), "available", lambda: True)())


def select_specs(
    mode: Mode, families: Iterable[str] | None = None, names: Iterable[str] | None = None
) -> list[specs.KeySpecInfo]:
    """The specs a run covers: ``names`` if given, else the mode's pick from ``families``.

    >>> from kmslab.bench import MODES
    >>> [s.name for s in select_specs(MODES["quick"], ["rsa", "ml-kem"])]
    ['RSA_2048', 'RSA_4096', 'ML_KEM_512', 'ML_KEM_1024']
    """
    if names is not None:
        return [specs.get(n) for n in names]
    wanted = set(FAMILIES if families is None else families)
    unknown = wanted - set(FAMILIES)
    if unknown:
        raise ValueError(f"unknown families {sorted(unknown)}; choose from {', '.join(FAMILIES)}")
    rows = [s for s in specs.all_specs() if s.family in wanted]
    if mode.strengths == "all":
        return rows
    keep: set[str] = set()
    for fam in wanted:
        members = [s for s in rows if s.family == fam]
        if members:
            keep.add(min(members, key=lambda s: s.security_bits).name)  # first of ties
            if mode.strengths == "ends":
                keep.add(max(members, key=lambda s: s.security_bits).name)
    return [s for s in rows if s.name in keep]


def _algorithms(usage: specs.Usage, every: bool) -> list[specs.Algorithm]:
    """Every algorithm, or one per kind of work (same padding and message types)."""
    if every:
        return list(usage.algorithms)
    groups: dict[tuple[str | None, tuple[str, ...]], list[specs.Algorithm]] = {}
    for alg in usage.algorithms:
        groups.setdefault((alg.padding, alg.message_types), []).append(alg)
    return [next((a for a in g if a.hash == PREFERRED_HASH), g[0]) for g in groups.values()]


def _message_plan(
    info: specs.KeySpecInfo, alg: specs.Algorithm, mode: Mode
) -> list[tuple[int, str]]:
    """(message bytes, message type) pairs for one algorithm, read from the catalogue."""
    if alg.kind == "encryption":
        if info.symmetric:  # symmetric encryption: a sweep of sizes
            return [(size, "RAW") for size in mode.message_sizes]
        assert alg.max_plaintext_bytes is not None  # asymmetric: the largest it allows
        return [(alg.max_plaintext_bytes, "RAW")]
    if alg.kind == "signing":
        if "RAW" in alg.message_types:
            return [(MESSAGE_BYTES, "RAW")]
        assert alg.digest_bytes is not None
        return [(alg.digest_bytes, alg.message_types[0])]
    if alg.kind == "mac":
        return [(MESSAGE_BYTES, "RAW")]
    return [(0, "RAW")]  # key agreement and encapsulation take no message


def plan(
    mode: Mode | str = "quick",
    *,
    families: Iterable[str] | None = None,
    specs: Iterable[str] | None = None,
    operations: Iterable[str] | None = None,
    layers: Iterable[Layer] = LAYERS,
) -> tuple[list[Task], list[str]]:
    """The measurements a run makes, derived from the catalogue, and notes on what is skipped.

    >>> tasks, notes = plan("test", families=["sm2", "ec"], layers=["primitive"])
    >>> sorted({t.operation for t in tasks})
    ['decrypt', 'derive', 'encrypt', 'keygen', 'sign', 'verify']
    >>> notes
    []
    """
    m = _mode(mode)
    wanted_ops = None if operations is None else set(operations)
    wanted_layers = tuple(layers)
    tasks: list[Task] = []
    notes: list[str] = []

    def add(task: Task) -> None:
        if (wanted_ops is None or task.operation in wanted_ops) and task.layer in wanted_layers:
            tasks.append(task)

    for info in select_specs(m, families, specs):
        if not _implemented(info):
            notes.append(
                f"{info.name} skipped: this machine cannot run {info.family} cryptography."
            )
            continue
        for layer in LAYERS:
            add(Task(info, "keygen", None, 0, layer))
        for usage in info.usages:
            for alg in _algorithms(usage, m.all_algorithms):
                for size, message_type in _message_plan(info, alg, m):
                    for op in OPERATIONS_BY_KIND[usage.kind]:
                        for layer in LAYERS:
                            add(Task(info, op, alg, size, layer, message_type))
    return tasks, notes


# -- running -------------------------------------------------------------------------------


def _time_keygen(s: Subject, t: Task, m: Mode) -> tuple[list[float], int]:
    """Time key generation: one key per sample when a key takes long, many samples then.

    On the primitive layer the last key made becomes the spec's working key. The kms layer
    calls CreateKey on a throwaway KMS: piling keys into the shared one would slow its
    later calls (each call scans the keys for due deletions).
    """
    info, gen = s.info, s.module.generate
    if t.layer == "primitive":

        def make() -> None:
            s.key = gen(info)

    else:
        import kmslab

        # SM2 exists only in the China Regions: its keys are made in one.
        scratch = kmslab.client("local", region_name=_region_for(info))
        params = {"KeySpec": info.name, "KeyUsage": info.default_usage or info.usage_names[0]}

        def make() -> None:
            scratch.create_key(**params)

    first = _run(make, 1)  # a warm-up, unless the key is slow to make
    second = _run(make, 1)
    if min(first, second) >= SLOW_KEYGEN_S:  # warming up is noise next to such a key
        return [first, second] + [_run(make, 1) for _ in range(m.slow_keygen_samples - 2)], 1
    if second >= ONE_KEY_PER_SAMPLE_S:
        return [second] + [_run(make, 1) for _ in range(m.keygen_samples - 1)], 1
    return time_callable(
        (lambda: gen(info)) if t.layer == "primitive" else make,
        min_sample_s=m.min_sample_s,
        samples=m.keygen_samples,
        warmup_s=m.warmup_s,
    )


def _common(t: Task) -> dict[str, Any]:
    alg = t.algorithm
    return {
        "key_spec": t.info.name,
        "family": t.info.family,
        "operation": t.operation,
        "algorithm": alg.name if alg else "",
        "message_bytes": t.message_bytes,
        "layer": t.layer,
        "security_bits": t.info.security_bits,
        "key_bits": t.info.key_bits,
        "implementation": implementation(t.info.name, alg.name if alg else ""),
    }


def _measure_interleaved(s: Subject, tasks: list[Task], m: Mode) -> list[Record]:
    """Time the same operation on both layers in turns (see :func:`time_interleaved`), so
    noise hits the cryptography and the full KMS call alike and their ratio means something."""
    alg = tasks[0].algorithm
    assert alg is not None
    calls = [s.calls(t)[t.operation] for t in tasks]
    timed = time_interleaved(
        [fn for fn, _, _ in calls],
        min_sample_s=m.min_sample_s,
        min_samples=m.samples,
        budget_s=m.budget_s,
        max_samples=max(m.samples, m.max_samples),
        warmup_s=m.warmup_s,
    )
    public, private = s.key_sizes()
    return [
        Record(
            **_common(t),
            **_summary(per_call),
            samples=len(per_call),
            loops=loops,
            public_key_bytes=public,
            private_key_bytes=private,
            artifact_bytes=artifact,
            catalogue_bytes=catalogue_bytes(alg),
            overhead_bytes=over,
            interleaved=True,
        )
        for t, (_, artifact, over), (per_call, loops) in zip(tasks, calls, timed, strict=True)
    ]


def _measure(s: Subject, t: Task, m: Mode) -> Record:
    alg = t.algorithm
    common = _common(t)
    limit = alg.max_plaintext_bytes if alg and alg.kind == "encryption" else None
    if t.layer == "kms" and limit is not None and t.message_bytes > limit:
        nan = math.nan
        public, private = s.key_sizes()
        return Record(
            **common,
            public_key_bytes=public, private_key_bytes=private,
            median_s=nan, iqr_s=nan, ops_per_s=nan, samples=0, loops=0, min_s=nan, p90_s=nan,
            max_s=nan, applicable=False,
            note=f"{KMS_API[t.operation]} takes at most {limit} bytes: use envelope encryption",
        )  # fmt: skip
    if alg is None:
        per_call, loops = _time_keygen(s, t, m)
        artifact = over = catalogue = None
    else:
        fn, artifact, over = s.calls(t)[t.operation]
        per_call, loops = time_callable(
            fn, min_sample_s=m.min_sample_s, samples=m.samples, warmup_s=m.warmup_s
        )
        catalogue = catalogue_bytes(alg)
    public, private = s.key_sizes()  # after keygen: its last key is the working key
    return Record(
        **common,
        **_summary(per_call),
        samples=len(per_call),
        loops=loops,
        public_key_bytes=public,
        private_key_bytes=private,
        artifact_bytes=artifact,
        catalogue_bytes=catalogue,
        overhead_bytes=over,
    )


def benchmark(
    mode: Mode | str = "quick",
    *,
    families: Iterable[str] | None = None,
    specs: Iterable[str] | None = None,
    operations: Iterable[str] | None = None,
    layers: Iterable[Layer] = LAYERS,
    progress: Progress | None = None,
) -> Results:
    """Measure every planned (spec, operation, algorithm, size, layer); see :func:`plan`.

    ``families`` are catalogue family names (``aes``, ``rsa``, ``ml-kem``...); ``specs``
    names key specs outright. ``progress`` is told after each measurement.
    """
    import kmslab

    m = _mode(mode)
    tasks, notes = plan(m, families=families, specs=specs, operations=operations, layers=layers)
    env = environment(m.name)
    kms_layer = any(t.layer == "kms" for t in tasks)
    clients: dict[str, Any] = {}  # one local KMS per Region the specs need (SM2: China)
    subjects: dict[str, Subject] = {}
    records: list[Record] = []
    done = 0
    for group in _layer_groups(tasks):
        info = group[0].info
        if info.name not in subjects:
            region = _region_for(info)  # SM2 keys exist only in a China Region
            if kms_layer and region not in clients:
                clients[region] = kmslab.client("local", region_name=region)
            subjects[info.name] = Subject(info, family(info.family), clients.get(region))
        subject = subjects[info.name]
        if _interleavable(group):
            records += _measure_interleaved(subject, group, m)
        else:
            records += [_measure(subject, task, m) for task in group]
        done += len(group)
        if progress is not None:
            progress(done, len(tasks), group[-1].label)
    env = replace(env, load_average_after=_load_average())
    return Results(tuple(records), env, tuple(notes))


def _layer_groups(tasks: list[Task]) -> list[list[Task]]:
    """Consecutive tasks that differ only in their layer, together (plan() keeps them so)."""
    groups: list[list[Task]] = []
    for t in tasks:
        key = (t.info.name, t.operation, t.algorithm, t.message_bytes, t.message_type)
        last = groups[-1][0] if groups else None
        if last is not None and key == (
            last.info.name,
            last.operation,
            last.algorithm,
            last.message_bytes,
            last.message_type,
        ):
            groups[-1].append(t)
        else:
            groups.append([t])
    return groups


def _interleavable(group: list[Task]) -> bool:
    """Both layers of an operation that both can do (not key generation, not over a limit)."""
    alg = group[0].algorithm
    if len(group) < 2 or alg is None:
        return False
    limit = alg.max_plaintext_bytes if alg.kind == "encryption" else None
    return limit is None or group[0].message_bytes <= limit


def strength_groups() -> dict[int, list[str]]:
    """Key specs grouped by security strength (bits), from the catalogue: compare like with like.

    >>> strength_groups()[128]  # doctest: +NORMALIZE_WHITESPACE
    ['RSA_3072', 'ECC_NIST_P256', 'ECC_SECG_P256K1', 'ECC_NIST_EDWARDS25519',
     'ML_DSA_44', 'ML_KEM_512', 'SM2']
    """
    groups: dict[int, list[str]] = {}
    for info in sorted(specs.all_specs(), key=lambda s: s.security_bits):
        groups.setdefault(info.security_bits, []).append(info.name)
    return groups


def by_strength(records: Iterable[Record], layer: str = "primitive") -> dict[int, list[Record]]:
    """Measured records grouped by their spec's security strength, weakest group first.

    >>> run = benchmark("test", specs=["HMAC_224", "ECC_NIST_P256"], operations=["keygen"],
    ...                 layers=["primitive"])
    >>> {bits: [r.key_spec for r in rows] for bits, rows in by_strength(run.records).items()}
    {128: ['ECC_NIST_P256'], 192: ['HMAC_224']}
    """
    groups: dict[int, list[Record]] = {}
    for r in sorted(records, key=lambda r: r.security_bits):
        if r.layer == layer and r.applicable:
            groups.setdefault(r.security_bits, []).append(r)
    return groups


def format_by_strength(records: Iterable[Record], layer: str = "primitive") -> str:
    """Equal security side by side: per strength, each spec's operations (first algorithm,
    smallest message), so RSA-3072 is set against P-256, not P-521."""
    lines = [f"Equal security ({layer} layer, median time per operation):"]
    for bits, rows in by_strength(records, layer).items():
        per_spec: dict[str, dict[str, Record]] = {}
        for r in rows:
            ops = per_spec.setdefault(r.key_spec, {})
            if r.operation not in ops or r.message_bytes < ops[r.operation].message_bytes:
                ops[r.operation] = r
        for i, (name, ops) in enumerate(per_spec.items()):
            cells = "  ".join(f"{op} {format_time(r.median_s)}" for op, r in ops.items())
            lines.append(f"  {f'{bits} bits' if i == 0 else '':<9} {name:<22} {cells}")
    return "\n".join(lines)


# -- output --------------------------------------------------------------------------------

#: Record fields in the order JSON and CSV give them.
FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Record))


def write_json(path: str | Path, results: Results) -> Path:
    """Write the records as a JSON list, and the environment beside it.

    The environment goes to ``<path stem>.environment.json``; that path is returned.
    """
    path = Path(path)
    path.write_text(json.dumps([r.to_dict() for r in results.records], indent=1) + "\n")
    return _write_environment(path, results)


def read_json(path: str | Path) -> tuple[Record, ...]:
    """Records back from :func:`write_json`'s file (None times become NaN again), to plot
    or compare runs from other machines."""
    floats = {f.name for f in dataclasses.fields(Record) if f.type == "float"}
    rows: list[dict[str, Any]] = json.loads(Path(path).read_text())
    fixed: list[dict[str, Any]] = [
        {k: math.nan if k in floats and v is None else v for k, v in row.items()} for row in rows
    ]
    return tuple(Record(**row) for row in fixed)


def write_csv(path: str | Path, results: Results) -> Path:
    """Write the records as CSV (one row each), and the environment beside it as JSON."""
    path = Path(path)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        for r in results.records:
            writer.writerow({k: "" if v is None else v for k, v in r.to_dict().items()})
    return _write_environment(path, results)


def _write_environment(path: Path, results: Results) -> Path:
    env_path = path.with_name(path.stem + ".environment.json")
    data = {**dataclasses.asdict(results.environment), "notes": list(results.notes)}
    env_path.write_text(json.dumps(data, indent=1) + "\n")
    return env_path
