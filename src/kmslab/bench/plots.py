"""Plots of benchmark records: each function returns a ``matplotlib.figure.Figure``.

Each takes the records of :func:`kmslab.bench.benchmark` and, optionally, an ``ax`` to draw
on (then it returns that axes' figure); the notebook decides what to show.

>>> from kmslab import bench
>>> from kmslab.bench import plots
>>> results = bench.benchmark("test", families=["aes"])
>>> fig = plots.plot_latency_vs_size(results.records)
>>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
['encrypt, primitive', 'encrypt, kms', 'decrypt, primitive', 'decrypt, kms']
>>> fig = plots.plot_overview(results.records)       # all of them, one figure
>>> len(fig.axes)
6
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from kmslab import specs
from kmslab.bench.records import Record

__all__ = [
    "plot_by_strength",
    "plot_latency_vs_size",
    "plot_ops_per_second",
    "plot_overview",
    "plot_sign_verify",
    "plot_sizes",
]

_LAYER_COLOURS = {"primitive": "tab:blue", "kms": "tab:orange"}


def _axes(ax: Any, size: tuple[float, float]) -> Any:
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    return Figure(figsize=size, layout="constrained").add_subplot()


def _legend(ax: Any, **kwargs: Any) -> None:
    """A legend, when anything was drawn (matplotlib warns about an empty one)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**kwargs)


def _measured(records: Iterable[Record]) -> list[Record]:
    return [r for r in records if r.applicable and not math.isnan(r.median_s)]


def _smallest_message(records: Iterable[Record]) -> list[Record]:
    """One record per (spec, operation, algorithm, layer): the smallest message size."""
    best: dict[tuple[str, str, str, str], Record] = {}
    for r in _measured(records):
        k = (r.key_spec, r.operation, r.algorithm, r.layer)
        if k not in best or r.message_bytes < best[k].message_bytes:
            best[k] = r
    return list(best.values())


def _label(r: Record) -> str:
    alg = f" {r.algorithm}" if r.algorithm and r.algorithm != r.key_spec else ""
    return f"{r.key_spec} {r.operation}{alg}"


def plot_ops_per_second(
    records: Iterable[Record], *, operations: Sequence[str] | None = None, ax: Any = None
) -> Any:
    """Operations per second by algorithm (log scale), both layers side by side.

    Each (spec, operation, algorithm) at its smallest message size; ``operations`` narrows.
    """
    rows = [
        r for r in _smallest_message(records) if operations is None or r.operation in operations
    ]
    labels = list(dict.fromkeys(_label(r) for r in rows))
    ax = _axes(ax, (8, max(3.0, 0.22 * len(labels) + 1)))
    ys = {label: i for i, label in enumerate(labels)}
    layers = sorted({r.layer for r in rows}, key=["primitive", "kms"].index)
    height = 0.8 / max(len(layers), 1)
    for j, layer in enumerate(layers):
        mine = [r for r in rows if r.layer == layer]
        ax.barh([ys[_label(r)] + j * height for r in mine], [r.ops_per_s for r in mine],
                height=height, color=_LAYER_COLOURS[layer], label=layer)  # fmt: skip
    ax.set_yticks([i + height * (len(layers) - 1) / 2 for i in range(len(labels))], labels,
                  fontsize=7)  # fmt: skip
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("operations per second (log scale)")
    ax.set_title("Operations per second")
    _legend(ax, fontsize=8)
    return ax.figure


def plot_latency_vs_size(records: Iterable[Record], *, ax: Any = None) -> Any:
    """AES-256-GCM time per operation against message size, both layers (log-log).

    The kms layer stops at Encrypt's limit (the catalogue's ``max_plaintext_bytes``), drawn
    as a dotted line; error bars are interquartile ranges.
    """
    ax = _axes(ax, (7, 4.5))
    rows = [r for r in _measured(records) if r.family == "aes" and r.operation != "keygen"]
    for op in ("encrypt", "decrypt"):
        for layer in ("primitive", "kms"):
            pts = sorted((r.message_bytes, r.median_s, r.iqr_s) for r in rows
                         if r.operation == op and r.layer == layer)  # fmt: skip
            if pts:
                ax.errorbar([p[0] for p in pts], [p[1] for p in pts], yerr=[p[2] / 2 for p in pts],
                            fmt="o-" if op == "encrypt" else "s--", color=_LAYER_COLOURS[layer],
                            label=f"{op}, {layer}", capsize=2)  # fmt: skip
    alg = specs.get("SYMMETRIC_DEFAULT").algorithm("SYMMETRIC_DEFAULT")
    if alg is not None and alg.max_plaintext_bytes:
        ax.axvline(alg.max_plaintext_bytes, color="grey", linestyle=":")
        ax.annotate(f"Encrypt limit: {alg.max_plaintext_bytes} B", (alg.max_plaintext_bytes, 0.9),
                    xycoords=("data", "axes fraction"), fontsize=8, ha="center")  # fmt: skip
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("message bytes")
    ax.set_ylabel("seconds per operation")
    ax.set_title("AES-256-GCM: time against message size")
    _legend(ax, fontsize=8)
    return ax.figure


def plot_sign_verify(records: Iterable[Record], *, layer: str = "primitive", ax: Any = None) -> Any:
    """Signing against verifying (operations per second, log scale) for each signing spec.

    RSA verifies far faster than it signs (small public exponent); ECDSA verifies slower.
    """
    ax = _axes(ax, (8, 4.5))
    rows = [r for r in _smallest_message(records) if r.layer == layer]
    pairs: dict[str, dict[str, float]] = {}
    for r in rows:
        if r.operation in ("sign", "verify"):
            pairs.setdefault(f"{r.key_spec}\n{r.algorithm}", {})[r.operation] = r.ops_per_s
    names = [n for n, ops in pairs.items() if len(ops) == 2]
    xs = range(len(names))
    ax.bar([x - 0.2 for x in xs], [pairs[n]["sign"] for n in names], 0.4, label="sign")
    ax.bar([x + 0.2 for x in xs], [pairs[n]["verify"] for n in names], 0.4, label="verify")
    ax.set_xticks(list(xs), names, rotation=60, ha="right", fontsize=6)
    ax.set_yscale("log")
    ax.set_ylabel("operations per second (log scale)")
    ax.set_title(f"Sign vs verify ({layer})")
    _legend(ax, fontsize=8)
    return ax.figure


def plot_sizes(records: Iterable[Record], *, ax: Any = None) -> Any:
    """Public key and signature (or ciphertext, MAC, KEM ciphertext) sizes by spec, measured."""
    ax = _axes(ax, (8, 4.5))
    public: dict[str, int] = {}
    artifact: dict[str, int] = {}
    for r in _measured(records):
        if r.public_key_bytes is not None:
            public[r.key_spec] = r.public_key_bytes
        if r.artifact_bytes is not None and r.operation in ("sign", "encapsulate", "generate_mac"):
            artifact[r.key_spec] = max(artifact.get(r.key_spec, 0), r.artifact_bytes)
    names = list(dict.fromkeys([*public, *artifact]))
    xs = range(len(names))
    ax.bar([x - 0.2 for x in xs], [public.get(n, 0) for n in names], 0.4, label="public key (DER)")
    ax.bar([x + 0.2 for x in xs], [artifact.get(n, 0) for n in names], 0.4,
           label="signature / MAC / KEM ciphertext")  # fmt: skip
    ax.set_xticks(list(xs), names, rotation=60, ha="right", fontsize=6)
    ax.set_yscale("log")
    ax.set_ylabel("bytes (log scale)")
    ax.set_title("Sizes")
    _legend(ax, fontsize=8)
    return ax.figure


def plot_by_strength(
    records: Iterable[Record],
    *,
    operations: Sequence[str] = ("sign", "verify", "derive", "decapsulate"),
    layer: str = "primitive",
    ax: Any = None,
) -> Any:
    """Time per operation against security strength (the catalogue's ``security_bits``).

    Compare like with like: at 128 bits RSA-3072, P-256, Ed25519, ML-DSA-44 and ML-KEM-512
    stand in one column (see :func:`kmslab.bench.strength_groups`).
    """
    ax = _axes(ax, (7, 4.5))
    rows = [r for r in _smallest_message(records) if r.layer == layer and r.operation in operations]
    markers = dict(zip(operations, "ovs^DP", strict=False))
    families = list(dict.fromkeys(r.family for r in rows))
    colours = {f: f"C{i}" for i, f in enumerate(families)}
    for r in rows:
        ax.scatter(
            r.security_bits, r.median_s, marker=markers[r.operation], color=colours[r.family]
        )
        ax.annotate(f"{r.key_spec} {r.operation}", (r.security_bits, r.median_s), fontsize=5,
                    xytext=(3, 2), textcoords="offset points")  # fmt: skip
    for f in families:
        ax.scatter([], [], color=colours[f], label=f)
    for op in sorted({r.operation for r in rows}, key=list(operations).index):
        ax.scatter([], [], marker=markers[op], color="grey", label=op)
    ax.set_yscale("log")
    ax.set_xticks(sorted({r.security_bits for r in rows}))
    ax.set_xlabel("security strength (bits)")
    ax.set_ylabel("seconds per operation (log scale)")
    ax.set_title(f"Time by security strength ({layer})")
    _legend(ax, fontsize=7, ncol=2)
    return ax.figure


def plot_overview(records: Iterable[Record], *, round_trip_s: float = 0.005) -> Any:
    """All the plots in one figure (3 x 2); the envelope panel needs AES on both layers."""
    from matplotlib.figure import Figure

    from kmslab.bench import kms_view

    records = list(records)
    fig = Figure(figsize=(16, 18), layout="constrained")
    axes = fig.subplots(3, 2).flatten()
    plot_ops_per_second(records, ax=axes[0])
    plot_latency_vs_size(records, ax=axes[1])
    plot_sign_verify(records, ax=axes[2])
    plot_sizes(records, ax=axes[3])
    plot_by_strength(records, ax=axes[4])
    try:
        kms_view.plot_envelope(records, round_trip_s=round_trip_s, ax=axes[5])
    except ValueError as exc:  # no AES figures to estimate from
        axes[5].text(0.5, 0.5, str(exc), ha="center", va="center", fontsize=8, wrap=True)
        axes[5].set_axis_off()
    return fig
