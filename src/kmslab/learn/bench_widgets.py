"""The widgets of lesson 03 (timing): the benchmark runner and the round-trip explorer
(Encrypt per record against envelope encryption), with the plain functions behind them.

:mod:`kmslab.learn.widgets` (``kmslab.widgets``) offers every name here. The benchmark,
matplotlib and ipywidgets load when a widget is made, not on ``import kmslab``.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from types import SimpleNamespace
from typing import Any

import ipywidgets as w

from kmslab.learn.widget_parts import _box, _button, _note, _result, _row

__all__ = [
    "MESSAGE_SIZES",
    "RECORD_COUNTS",
    "benchmark_runner",
    "envelope_report",
    "figure_png",
    "results_report",
    "round_trip_explorer",
    "run_benchmark",
]

#: Message sizes the benchmark runner offers for symmetric encryption (bytes).
MESSAGE_SIZES: tuple[int, ...] = (16, 256, 1024, 4096, 16384, 65536, 1 << 20)


def _size_label(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 else f"{n >> 10} KiB" if n >= 1024 else f"{n} B"


def figure_png(figure: Any) -> bytes:
    """A matplotlib Figure as PNG bytes (for an ``Image`` widget)."""
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def run_benchmark(
    mode: str,
    families: Iterable[str],
    message_sizes: Iterable[int] | None = None,
    progress: Any = None,
) -> Any:
    """:func:`kmslab.bench.benchmark` in ``mode`` for ``families``, with the symmetric
    encryption sizes replaced by ``message_sizes`` when given. Returns its Results."""
    import dataclasses

    from kmslab import bench

    chosen = bench.MODES[mode]
    if message_sizes is not None:
        sizes = tuple(sorted(set(message_sizes)))
        if not sizes:
            raise ValueError("choose at least one message size")
        chosen = dataclasses.replace(chosen, message_sizes=sizes)
    return bench.benchmark(chosen, families=list(families), progress=progress)


def results_report(results: Any) -> str:
    """Benchmark results as HTML: the text table, and the notes on anything skipped."""
    from kmslab import bench

    notes = "".join(_note(n) for n in results.notes)
    table = html.escape(bench.format_table(results.records))
    return f"<pre style='font-size:85%;overflow-x:auto;white-space:pre'>{table}</pre>{notes}"


def benchmark_runner(*, families: Sequence[str] = ("aes", "rsa", "ec"), mode: str = "test") -> Any:
    """Choose algorithm families, message sizes and a mode; run the benchmark with a
    progress bar; see the table and an operations-per-second plot.

    ``test`` takes seconds, ``quick`` about half a minute, ``full`` several minutes.
    Controls: ``families`` (dict family -> Checkbox), ``sizes`` (SelectMultiple),
    ``mode`` (ToggleButtons), ``run`` (Button), ``progress`` (the bar), ``table`` (HTML),
    ``plot`` (Image), ``state`` (namespace whose ``results`` is the last run's Results).
    """
    from kmslab import bench
    from kmslab.bench import plots

    boxes = {
        f: w.Checkbox(
            value=f in families, description=f, indent=False, layout=w.Layout(width="90px")
        )
        for f in bench.FAMILIES
    }
    default_sizes = [n for n in bench.MODES[mode].message_sizes if n in MESSAGE_SIZES]
    sizes = w.SelectMultiple(
        options=[(_size_label(n), n) for n in MESSAGE_SIZES],
        value=default_sizes,
        description="AES sizes",
        rows=len(MESSAGE_SIZES),
    )
    modes = w.ToggleButtons(options=list(bench.MODES), value=mode, description="Mode")
    run = _button("Run benchmark", button_style="primary")
    progress_box, progress = bench.notebook_progress()
    table = _result()
    # Hidden until there is a plot: an empty Image shows the browser's broken-image icon.
    plot = w.Image(format="png", layout=w.Layout(display="none", max_width="100%"))
    state = SimpleNamespace(results=None)

    def clear(message: str) -> None:
        """Forget the last run's output, so nothing stale stays next to ``message``."""
        progress(0, 1, "")
        table.value = _note(message) if message else ""
        plot.layout.display = "none"
        plot.value = b""
        state.results = None

    def on_run(_: Any) -> None:
        chosen = [f for f, box in boxes.items() if box.value]
        if not chosen:
            clear("Choose at least one family.")
            return
        clear("")
        try:
            results = run_benchmark(modes.value, chosen, sizes.value, progress)
        except ValueError as exc:
            clear(str(exc))
            return
        state.results = results
        if not results.records:
            progress(0, 1, "nothing measurable in this choice")
        table.value = results_report(results)
        if results.records:
            plot.value = figure_png(plots.plot_ops_per_second(results.records))
            plot.layout.display = ""

    run.on_click(on_run)
    return _box(
        [
            _row(list(boxes.values())),
            _row([sizes, modes]),
            run,
            progress_box,
            table,
            plot,
        ],
        families=boxes,
        sizes=sizes,
        mode=modes,
        run=run,
        progress=progress_box,
        table=table,
        plot=plot,
        state=state,
    )


def envelope_report(records: Any, record_bytes: int, n_records: int, round_trip_s: float) -> str:
    """Encrypt per record against envelope encryption for one workload, as HTML."""
    from kmslab import bench
    from kmslab.bench import kms_view

    rows = []
    for est in kms_view.envelope_vs_encrypt(
        records, n_records=n_records, record_bytes=record_bytes, round_trip_s=round_trip_s
    ):
        took = bench.format_time(est.seconds) if est.feasible else "impossible"
        note = f" ({est.note})" if est.note else ""
        rows.append(
            f"<tr><td>{html.escape(est.strategy)}</td><td>{est.kms_calls:,}</td>"
            f"<td>{html.escape(took + note)}</td></tr>"
        )
    head = "<tr><th>strategy</th><th>KMS calls</th><th>time (estimated)</th></tr>"
    # Cells padded apart, numbers right-aligned: a count must not run into its label.
    style = "<style>.kmslab-envelope td,.kmslab-envelope th{padding:2px 12px}"
    style += ".kmslab-envelope td:nth-child(2){text-align:right}</style>"
    return f"{style}<table class='kmslab-envelope'>{head}{''.join(rows)}</table>"


#: The record counts the round-trip explorer offers.
RECORD_COUNTS = (1, 10, 100, 1_000, 10_000, 100_000, 1_000_000)


def round_trip_explorer(records: Any) -> Any:
    """Sliders for the network round trip and the workload: what Encrypt per record and
    envelope encryption would cost on AWS, from measured local figures.

    ``records`` must include AES on both layers. Controls: ``round_trip_ms``, ``n_records``
    (sliders), ``record_bytes`` (Dropdown), ``result`` (HTML), ``plot`` (Image).
    """
    from kmslab.bench import kms_view

    round_trip_ms = w.FloatLogSlider(
        value=5, base=10, min=-1, max=2, step=0.1, description="Round trip (ms)",
        continuous_update=False, style={"description_width": "initial"},
    )  # fmt: skip
    # Powers of ten: a linear slider from 1 to a million cannot reach 100 or 1,000.
    n_records = w.SelectionSlider(
        options=[(f"{n:,}", n) for n in RECORD_COUNTS], value=10_000, description="Records",
        continuous_update=False,
    )  # fmt: skip
    record_bytes = w.Dropdown(
        options=[(_size_label(n), n) for n in MESSAGE_SIZES],
        value=1024,
        description="Record size",
        style={"description_width": "initial"},
    )
    result = _result()
    plot = w.Image(format="png", layout=w.Layout(max_width="100%"))

    def update(_: Any = None) -> None:
        seconds = round_trip_ms.value / 1000
        result.value = envelope_report(records, record_bytes.value, n_records.value, seconds)
        figure = kms_view.plot_envelope(
            records, record_bytes=record_bytes.value, round_trip_s=seconds
        )
        plot.value = figure_png(figure)

    for control in (round_trip_ms, n_records, record_bytes):
        control.observe(update, names="value")
    update()
    return _box(
        [
            _row([round_trip_ms, n_records, record_bytes]),
            result,
            plot,
        ],
        round_trip_ms=round_trip_ms,
        n_records=n_records,
        record_bytes=record_bytes,
        result=result,
        plot=plot,
    )
