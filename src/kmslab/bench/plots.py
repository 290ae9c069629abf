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
from kmslab.bench.records import Record, format_time

__all__ = [
    "plot_by_strength",
    "plot_latency_vs_size",
    "plot_ops_per_second",
    "plot_overview",
    "plot_sign_verify",
    "plot_sizes",
]

#: Okabe and Ito's palette, told apart with every common kind of colour blindness.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
_LAYER_COLOURS = {"primitive": OKABE_ITO[0], "kms": OKABE_ITO[1]}
#: Smallest font of any label: readable at 100% zoom when a figure is shown at 100 dpi.
_FONT = 9


def _time_axis(axis: Any) -> None:
    """Log-scale time ticks written with their unit (12.3 µs, 4 ms), not bare seconds."""
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda x, _: format_time(x)))


def _quartile_err(rows: Sequence[Record], invert: bool = False) -> list[list[float]]:
    """Error bars from the quartiles (an IQR bar around the median), for times or rates."""
    low, high = [], []
    for r in rows:
        q1, q3 = (r.q1_s, r.q3_s) if not math.isnan(r.q1_s) else (r.median_s, r.median_s)
        if invert:  # operations per second: the slow quartile is the low rate
            low.append(max(r.ops_per_s - 1 / q3, 0.0))
            high.append(max(1 / q1 - r.ops_per_s, 0.0))
        else:
            low.append(max(r.median_s - q1, 0.0))
            high.append(max(q3 - r.median_s, 0.0))
    return [low, high]


def _impl_note(r: Record) -> str:
    """The library, when it is not the OpenSSL most rows use: a slow library is not a slow
    algorithm."""
    return (
        f" [{r.implementation.split(' ')[0]}]"
        if "OpenSSL" not in (r.implementation or "OpenSSL")
        else ""
    )


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
    return f"{r.key_spec} {r.operation}{alg}{_impl_note(r)}"


def plot_ops_per_second(
    records: Iterable[Record], *, operations: Sequence[str] | None = None, ax: Any = None
) -> Any:
    """Operations per second by algorithm (log scale), both layers side by side, with the
    interquartile range as error bars; rows from a library other than OpenSSL say which.

    Each (spec, operation, algorithm) at its smallest message size; ``operations`` narrows.
    """
    rows = [
        r for r in _smallest_message(records) if operations is None or r.operation in operations
    ]
    labels = list(dict.fromkeys(_label(r) for r in rows))
    ax = _axes(ax, (9, max(3.0, 0.3 * len(labels) + 1.2)))
    ys = {label: i for i, label in enumerate(labels)}
    layers = sorted({r.layer for r in rows}, key=["primitive", "kms"].index)
    height = 0.8 / max(len(layers), 1)
    for j, layer in enumerate(layers):
        mine = [r for r in rows if r.layer == layer]
        ax.barh([ys[_label(r)] + j * height for r in mine], [r.ops_per_s for r in mine],
                height=height, color=_LAYER_COLOURS[layer], label=layer,
                xerr=_quartile_err(mine, invert=True), error_kw={"elinewidth": 1, "capsize": 2},
                )  # fmt: skip
    ax.set_yticks([i + height * (len(layers) - 1) / 2 for i in range(len(labels))], labels,
                  fontsize=_FONT)  # fmt: skip
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("operations per second (log scale; whiskers: q1 to q3)")
    ax.set_title("Operations per second")
    _legend(ax, fontsize=_FONT)
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
            mine = sorted((r for r in rows if r.operation == op and r.layer == layer),
                          key=lambda r: r.message_bytes)  # fmt: skip
            if mine:
                ax.errorbar([r.message_bytes for r in mine], [r.median_s for r in mine],
                            yerr=_quartile_err(mine),
                            fmt="o-" if op == "encrypt" else "s--", color=_LAYER_COLOURS[layer],
                            label=f"{op}, {layer}", capsize=2)  # fmt: skip
    alg = specs.get("SYMMETRIC_DEFAULT").algorithm("SYMMETRIC_DEFAULT")
    if alg is not None and alg.max_plaintext_bytes:
        ax.axvline(alg.max_plaintext_bytes, color="grey", linestyle=":")
        ax.annotate(f"Encrypt limit: {alg.max_plaintext_bytes} B", (alg.max_plaintext_bytes, 0.9),
                    xycoords=("data", "axes fraction"), fontsize=_FONT, ha="center")  # fmt: skip
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    _time_axis(ax.yaxis)
    ax.set_xlabel("message size (bytes, log scale)")
    ax.set_ylabel("time per operation (log scale)")
    ax.set_title("AES-256-GCM: time against message size")
    _legend(ax, fontsize=_FONT)
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
    ax.bar([x - 0.2 for x in xs], [pairs[n]["sign"] for n in names], 0.4, label="sign",
           color=OKABE_ITO[5])  # fmt: skip
    ax.bar([x + 0.2 for x in xs], [pairs[n]["verify"] for n in names], 0.4, label="verify",
           color=OKABE_ITO[4])  # fmt: skip
    ax.set_xticks(list(xs), names, rotation=60, ha="right", fontsize=_FONT - 1)
    ax.set_yscale("log")
    ax.set_ylabel("operations per second (log scale)")
    ax.set_title(f"Sign vs verify ({layer})")
    _legend(ax, fontsize=_FONT)
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
    ax.bar([x - 0.2 for x in xs], [public.get(n, 0) for n in names], 0.4, label="public key (DER)",
           color=OKABE_ITO[0])  # fmt: skip
    ax.bar([x + 0.2 for x in xs], [artifact.get(n, 0) for n in names], 0.4,
           label="signature / MAC / KEM ciphertext", color=OKABE_ITO[2])  # fmt: skip
    ax.set_xticks(list(xs), names, rotation=60, ha="right", fontsize=_FONT - 1)
    ax.set_yscale("log")
    ax.set_ylabel("bytes (log scale)")
    ax.set_title("Sizes")
    _legend(ax, fontsize=_FONT)
    return ax.figure


def plot_by_strength(
    records: Iterable[Record],
    *,
    operations: Sequence[str] = ("sign", "verify", "derive", "decapsulate"),
    layer: str = "primitive",
    ax: Any = None,
) -> Any:
    """Time per operation, grouped by security strength (the catalogue's ``security_bits``):
    one labelled bar per (key spec, operation), median with the interquartile range, the
    weakest group on top, so RSA-3072 is read against P-256 and not against P-521.

    Bars are coloured by operation; rows computed by a library other than OpenSSL say which
    (see :func:`kmslab.bench.strength_groups` for the groups).
    """
    ops = list(operations)
    rows = [r for r in _smallest_message(records) if r.layer == layer and r.operation in ops]
    rows.sort(key=lambda r: (r.security_bits, ops.index(r.operation), r.median_s))
    y, ys = 0.0, []  # a gap between strength groups
    groups: list[tuple[int, float]] = []
    for i, r in enumerate(rows):
        if i and r.security_bits != rows[i - 1].security_bits:
            y += 0.8
        if not groups or groups[-1][0] != r.security_bits:
            groups.append((r.security_bits, y))
        ys.append(y)
        y += 1
    ax = _axes(ax, (9, max(3.0, 0.32 * y + 1.5)))
    palette = (OKABE_ITO[5], OKABE_ITO[4], OKABE_ITO[2], OKABE_ITO[3], OKABE_ITO[1], OKABE_ITO[0])
    colours = {op: palette[i % len(palette)] for i, op in enumerate(ops)}
    shared = {(r.key_spec, r.operation) for r in rows}
    several = {k for k in shared if sum((r.key_spec, r.operation) == k for r in rows) > 1}

    def name(r: Record) -> str:
        alg = f" {r.algorithm}" if (r.key_spec, r.operation) in several else ""
        return f"{r.key_spec} {r.operation}{alg}{_impl_note(r)}"

    for op in ops:
        mine = [(yy, r) for yy, r in zip(ys, rows, strict=True) if r.operation == op]
        if mine:
            ax.barh([yy for yy, _ in mine], [r.median_s for _, r in mine], height=0.75,
                    color=colours[op], label=op, xerr=_quartile_err([r for _, r in mine]),
                    error_kw={"elinewidth": 1, "capsize": 2})  # fmt: skip
    ax.set_yticks(ys, [name(r) for r in rows], fontsize=_FONT)
    ax.invert_yaxis()
    ax.set_xscale("log")
    _time_axis(ax.xaxis)
    for bits, top in groups:
        ax.axhline(top - 0.9, color="grey", linewidth=0.6)
        ax.annotate(f"{bits}-bit security", (0.995, top - 0.5), xycoords=("axes fraction", "data"),
                    ha="right", va="center", fontsize=_FONT, fontweight="bold")  # fmt: skip
    ax.set_xlabel("time per operation (log scale; bar: median, whiskers: q1 to q3)")
    ax.set_title(f"Time by security strength ({layer} layer)")
    _legend(ax, fontsize=_FONT, loc="upper left", bbox_to_anchor=(1.01, 1), title="operation")
    return ax.figure


def plot_overview(records: Iterable[Record], *, round_trip_s: float = 0.005) -> Any:
    """All the plots in one figure; the envelope panel needs AES on both layers.

    The two long bar charts (operations per second, time by strength) span the full width,
    each as tall as its number of rows needs, so no label overlaps another.
    """
    from matplotlib.figure import Figure

    from kmslab.bench import kms_view

    records = list(records)
    n_ops = len({_label(r) for r in _smallest_message(records)})
    n_strength = len(
        {
            (r.key_spec, r.operation, r.algorithm)
            for r in _smallest_message(records)
            if r.layer == "primitive" and r.operation in ("sign", "verify", "derive", "decapsulate")
        }
    )
    heights = [max(3.0, 0.3 * n_ops + 1.2), 4.8, 4.8, max(3.0, 0.32 * n_strength + 2.0)]
    fig = Figure(figsize=(16, sum(heights)), layout="constrained")
    grid = fig.add_gridspec(4, 2, height_ratios=heights)
    plot_ops_per_second(records, ax=fig.add_subplot(grid[0, :]))
    plot_latency_vs_size(records, ax=fig.add_subplot(grid[1, 0]))
    envelope_ax = fig.add_subplot(grid[1, 1])
    plot_sign_verify(records, ax=fig.add_subplot(grid[2, 0]))
    plot_sizes(records, ax=fig.add_subplot(grid[2, 1]))
    plot_by_strength(records, ax=fig.add_subplot(grid[3, :]))
    try:
        kms_view.plot_envelope(records, round_trip_s=round_trip_s, ax=envelope_ax)
    except ValueError as exc:  # no AES figures to estimate from
        envelope_ax.text(0.5, 0.5, str(exc), ha="center", va="center", fontsize=_FONT, wrap=True)
        envelope_ax.set_axis_off()
    return fig
