"""The operations matrix: one :class:`Cell` per (operation, KeySpec, KeyUsage), derived from
the rules (:func:`derived_matrix`), compared (:func:`diff`) and rendered as text, Markdown,
HTML or a heat map. :mod:`kmslab.learn.measure` fills the same records by measurement, and
:mod:`kmslab.learn.compare` is the public face of both.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from kmslab import specs
from kmslab.kms.rules import OPERATIONS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "MATRIX_OPERATIONS",
    "Cell",
    "Difference",
    "Matrix",
    "TypeCell",
    "derived_matrix",
    "diff",
    "plot",
    "to_html",
    "to_markdown",
    "to_records",
    "to_text",
]

By = Literal["type", "spec"]

#: The operations of the matrix: every operation that takes a key, plus CreateKey (the one
#: keyless operation whose outcome depends on the key type). Data plane first, then key
#: management, each in the order of :data:`kmslab.kms.rules.OPERATIONS`. The multi-Region
#: operations are left out: they depend on the key's MultiRegion property, not its type
#: (AWS's key type reference puts them in a separate "special features" table).
MATRIX_OPERATIONS: tuple[str, ...] = tuple(
    name
    for plane in ("data", "management")
    for name, rule in OPERATIONS.items()
    if rule.plane == plane and (rule.needs_key or name == "CreateKey") and not rule.multi_region
)

_PLANE_TITLES = {"data": "Data plane", "management": "Key management"}


# -- the records ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cell:
    """Whether one operation works on a key of one (KeySpec, KeyUsage) pair.

    ``error`` is the AWS error code when refused; ``message`` the full AWS message (measured)
    or the rule that refuses it (derived). ``note`` is set on a measured matrix's cells that
    could not be measured: it says why, and ``allowed``/``error`` then come from the rules.
    """

    operation: str
    key_spec: str
    key_usage: str
    key_type: str
    allowed: bool
    error: str | None = None
    message: str | None = None
    note: str | None = None

    @property
    def pair(self) -> str:
        """``"KeySpec/KeyUsage"``, e.g. ``"RSA_2048/ENCRYPT_DECRYPT"``."""
        return f"{self.key_spec}/{self.key_usage}"

    def to_record(self) -> dict[str, Any]:
        """The JSON form: ``{"operation", "key_type", "allowed", "error"}`` (+ ``note``).

        ``key_type`` here is the pair, ``"KeySpec/KeyUsage"``; ``note`` appears only on
        cells a measurement could not make.
        """
        record: dict[str, Any] = {
            "operation": self.operation,
            "key_type": self.pair,
            "allowed": self.allowed,
            "error": self.error,
        }
        if self.note is not None:
            record["note"] = self.note
        return record


@dataclass(frozen=True, slots=True)
class TypeCell:
    """The cells of one operation for every pair of one key type (a column of AWS's table).

    ``allowed`` is None when the pairs of the type disagree (AWS's table says they never do).
    """

    operation: str
    key_type: str
    cells: tuple[Cell, ...]

    @property
    def allowed(self) -> bool | None:
        values = {c.allowed for c in self.cells}
        return values.pop() if len(values) == 1 else None

    @property
    def errors(self) -> tuple[str, ...]:
        return _errors(self.cells)


def _errors(cells: Iterable[Cell]) -> tuple[str, ...]:
    """The distinct error codes of refused cells, in order."""
    return tuple(dict.fromkeys(c.error for c in cells if c.error is not None))


@dataclass(frozen=True, slots=True)
class Difference:
    """One cell on which two matrices disagree (``None``: the cell is missing on that side)."""

    operation: str
    key_spec: str
    key_usage: str
    left: Cell | None
    right: Cell | None

    def __str__(self) -> str:
        def show(c: Cell | None) -> str:
            if c is None:
                return "missing"
            return "allowed" if c.allowed else f"refused ({c.error})"

        return (
            f"{self.operation} on {self.key_spec}/{self.key_usage}: "
            f"{show(self.left)} vs {show(self.right)}"
        )


def _by_place(cells: Iterable[Cell]) -> dict[tuple[str, str, str], Cell]:
    """(operation, KeySpec, KeyUsage) -> the cell."""
    return {(c.operation, c.key_spec, c.key_usage): c for c in cells}


def _outcome(cell: Cell) -> tuple[bool, str | None]:
    return cell.allowed, cell.error


def diff(left: Iterable[Cell], right: Iterable[Cell]) -> list[Difference]:
    """The cells on which two matrices disagree (allowed or error code; messages may differ).

    >>> from dataclasses import replace
    >>> a = derived_matrix()
    >>> flipped = [replace(c, allowed=True, error=None) if c.operation == "Sign" else c
    ...            for c in a]
    >>> [str(d) for d in diff(a, flipped)][:1]
    ['Sign on SYMMETRIC_DEFAULT/ENCRYPT_DECRYPT: refused (InvalidKeyUsageException) vs allowed']
    >>> diff(a, a)
    []
    """
    lmap, rmap = _by_place(left), _by_place(right)
    out = []
    for key in [*lmap, *(k for k in rmap if k not in lmap)]:
        lc, rc = lmap.get(key), rmap.get(key)
        if lc is None or rc is None or _outcome(lc) != _outcome(rc):
            out.append(Difference(*key, lc, rc))
    return out


# -- the matrix --------------------------------------------------------------------------


@dataclass(frozen=True)
class Matrix:
    """A set of cells, with views by key type or by pair, and renderings.

    ``source`` is "derived" or "measured". Iterating yields the cells.
    """

    cells: tuple[Cell, ...]
    source: str = "derived"
    _index: dict[tuple[str, str, str], Cell] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", _by_place(self.cells))

    def __repr__(self) -> str:
        return (
            f"Matrix(source={self.source!r}, operations={len(self.operations)}, "
            f"pairs={len(self.pairs)}, cells={len(self.cells)})"
        )

    def __iter__(self) -> Iterator[Cell]:
        return iter(self.cells)

    def __len__(self) -> int:
        return len(self.cells)

    @property
    def operations(self) -> tuple[str, ...]:
        """Operation names in row order (data plane first)."""
        return tuple(dict.fromkeys(c.operation for c in self.cells))

    @property
    def pairs(self) -> tuple[tuple[str, str], ...]:
        """(KeySpec, KeyUsage) pairs in column order (catalogue order)."""
        return tuple(dict.fromkeys((c.key_spec, c.key_usage) for c in self.cells))

    @property
    def unmeasured(self) -> tuple[Cell, ...]:
        """Cells a measurement could not make (their ``note`` says why)."""
        return tuple(c for c in self.cells if c.note is not None)

    def cell(self, operation: str, key_spec: str, key_usage: str) -> Cell:
        """The cell of one operation on one pair (KeyError if absent)."""
        return self._index[(operation, key_spec, key_usage)]

    def by_key_type(self) -> dict[tuple[str, str], TypeCell]:
        """(operation, key type) -> the cells of every pair of that key type.

        >>> t = derived_matrix().by_key_type()[("GetPublicKey", "HMAC")]
        >>> t.allowed, t.errors, len(t.cells)
        (False, ('UnsupportedOperationException',), 4)
        """
        groups: dict[tuple[str, str], list[Cell]] = {}
        for c in self.cells:
            groups.setdefault((c.operation, c.key_type), []).append(c)
        return {k: TypeCell(k[0], k[1], tuple(v)) for k, v in groups.items()}

    def diff(self, other: Iterable[Cell]) -> list[Difference]:
        """The cells on which this matrix and ``other`` disagree (see :func:`diff`)."""
        return diff(self, other)

    def to_records(self) -> list[dict[str, Any]]:
        return to_records(self)

    def to_text(self, by: By = "type", operations: Sequence[str] | None = None) -> str:
        return to_text(self, by, operations)

    def to_markdown(self, by: By = "type") -> str:
        return to_markdown(self, by)

    def to_html(self, by: By = "type") -> str:
        return to_html(self, by)

    def plot(self, by: By = "type") -> Figure:
        return plot(self, by)

    def _repr_html_(self) -> str:
        return to_html(self)

    def _repr_markdown_(self) -> str:
        return to_markdown(self)


def _matrix(cells: Iterable[Cell]) -> Matrix:
    return cells if isinstance(cells, Matrix) else Matrix(tuple(cells))


# -- derived from the tables -------------------------------------------------------------


def _rule_message(operation: str, key_type: str) -> str | None:
    rule = OPERATIONS[operation]
    if key_type not in rule.key_types:
        allowed = ", ".join(t for t in specs.KEY_TYPES if t in rule.key_types)
        return (
            f"{operation} is not valid for {specs.KEY_TYPES[key_type]} keys "
            f"(only {allowed}); AWS refuses it with {rule.refusal}."
        )
    if rule.external_only:
        return "Allowed on keys with Origin EXTERNAL (imported key material)."
    if rule.aws_kms_only:
        return "Allowed on keys with Origin AWS_KMS."
    return None


def derived_matrix() -> Matrix:
    """The matrix as the catalogue and the operation rules define it.

    >>> m = derived_matrix()
    >>> len(m.operations), len(m.pairs), len(m) == len(m.operations) * len(m.pairs)
    (43, 28, True)
    """
    cells = []
    for operation in MATRIX_OPERATIONS:
        rule = OPERATIONS[operation]
        for spec, usage in specs.valid_pairs():
            key_type = specs.key_type(spec, usage)
            allowed = key_type in rule.key_types
            cells.append(
                Cell(
                    operation,
                    spec,
                    usage,
                    key_type,
                    allowed,
                    None if allowed else rule.refusal,
                    _rule_message(operation, key_type),
                )
            )
    return Matrix(tuple(cells), "derived")


# -- rendering ------------------------------------------------------------------------------


def _abbreviation(code: str) -> str:
    """InvalidKeyUsageException -> IKU, UnsupportedOperationException -> UO."""
    words = re.findall(r"[A-Z][a-z]+|[A-Z]+(?![a-z])", code.removesuffix("Exception"))
    return "".join(w[0] for w in words) if words else code


#: KeyUsage abbreviations for the vertical text headers (as in AWS's key type labels).
_USAGE_SHORT = {
    "ENCRYPT_DECRYPT": "ED",
    "SIGN_VERIFY": "SV",
    "GENERATE_VERIFY_MAC": "MAC",
    "KEY_AGREEMENT": "KA",
    "ENCAPSULATE_DECAPSULATE": "KEM",
}


def _short_pair(pair: str) -> str:
    """ "RSA_2048/SIGN_VERIFY" -> "RSA_2048 SV"."""
    spec, _, usage = pair.partition("/")
    return f"{spec} {_USAGE_SHORT.get(usage, usage)}"


def _columns(m: Matrix, by: By) -> list[tuple[str, dict[str, list[Cell]]]]:
    """(header, operation -> the cells under it) for each column of the view."""
    columns: dict[str, dict[str, list[Cell]]] = {}
    if by == "type":
        for c in m.cells:
            columns.setdefault(c.key_type, {}).setdefault(c.operation, []).append(c)
        return [(t, columns[t]) for t in specs.KEY_TYPES if t in columns]
    if by == "spec":
        for c in m.cells:
            columns.setdefault(c.pair, {})[c.operation] = [c]
        return list(columns.items())
    raise ValueError(f"by must be 'type' or 'spec', not {by!r}")


def _rows(m: Matrix, operations: Sequence[str] | None = None) -> list[tuple[str, list[str]]]:
    """(plane title, operations) in row order."""
    wanted = m.operations if operations is None else [o for o in m.operations if o in operations]
    return [
        (title, [o for o in wanted if OPERATIONS[o].plane == plane])
        for plane, title in _PLANE_TITLES.items()
        if any(OPERATIONS[o].plane == plane for o in wanted)
    ]


def _summary(cells: list[Cell]) -> tuple[str, bool | None, str]:
    """(short text, allowed or None if mixed, marker '*' if some cell was not measured)."""
    values = {c.allowed for c in cells}
    mark = "*" if any(c.note is not None for c in cells) else ""
    if values == {True}:
        return "yes", True, mark
    if values == {False}:
        codes = dict.fromkeys(c.error or "?" for c in cells)
        return "/".join(_abbreviation(code) for code in codes), False, mark
    return "mixed", None, mark


def _shown(cells: list[Cell], full_codes: bool) -> tuple[str, bool | None]:
    """A drawn cell's text and colour key (allowed, or None if mixed): ✓ when allowed, the
    AWS error codes in full (``full_codes``) or abbreviated when refused; '*' if unmeasured."""
    text, allowed, mark = _summary(cells)
    if allowed:
        text = "✓"
    elif full_codes and allowed is False:
        text = "/".join(_errors(cells))
    return text + mark, allowed


def _legend(m: Matrix) -> list[str]:
    codes = sorted({c.error for c in m.cells if c.error is not None})
    lines = []
    if codes:
        lines.append(", ".join(f"{_abbreviation(c)} = {c}" for c in codes))
    notes = sorted({c.note for c in m.cells if c.note is not None})
    if notes:
        lines.append("* not measured here: " + "; ".join(notes))
    return lines


def to_text(cells: Iterable[Cell], by: By = "type", operations: Sequence[str] | None = None) -> str:
    """An aligned text table: rows are operations (by plane), columns key types or pairs.

    Allowed cells read ``yes``; refused ones the abbreviated AWS error code (a legend
    follows). With ``by="spec"`` the 28 column headers are written vertically.
    """
    m = _matrix(cells)
    columns = _columns(m, by)
    rows = _rows(m, operations)
    ops = [o for _, group in rows for o in group]
    texts = {(op, h): "".join(_summary(column[op])[::2]) for op in ops for h, column in columns}
    label_width = max([len("operation")] + [len(o) + 2 for o in ops])
    lines: list[str] = []
    if by == "spec":
        # Vertical headers, bottom-aligned: "RSA_2048 SV" reads downwards above its column.
        labels = [_short_pair(h) for h, _ in columns]
        widths = [max(len(texts[(op, h)]) for op in ops) for h, _ in columns]
        height = max(len(label) for label in labels)
        for i in range(height):
            parts = [
                (label.rjust(height)[i]).ljust(w) for label, w in zip(labels, widths, strict=True)
            ]
            first = "operation" if i == height - 1 else ""
            lines.append((first.ljust(label_width) + "  " + " ".join(parts)).rstrip())
        sep = " "
    else:
        widths = [max([len(h)] + [len(texts[(op, h)]) for op in ops]) for h, _ in columns]
        header = "  ".join(h.ljust(w) for (h, _), w in zip(columns, widths, strict=True))
        lines.append(("operation".ljust(label_width) + "  " + header).rstrip())
        sep = "  "
    for title, group in rows:
        lines.append(title)
        for op in group:
            row = sep.join(
                texts[(op, h)].ljust(w) for (h, _), w in zip(columns, widths, strict=True)
            )
            lines.append((f"  {op}".ljust(label_width) + "  " + row).rstrip())
    legend = _legend(_matrix([c for c in m.cells if c.operation in ops]))
    if by == "spec":
        legend.append(", ".join(f"{short} = {usage}" for usage, short in _USAGE_SHORT.items()))
    return "\n".join([*lines, "", *legend]) if legend else "\n".join(lines)


def to_markdown(cells: Iterable[Cell], by: By = "type") -> str:
    """A GitHub-flavoured Markdown table (✓ for allowed, the AWS error code otherwise).

    >>> print(derived_matrix().to_markdown().splitlines()[2])
    | **Data plane** | | | | | | |
    """
    m = _matrix(cells)
    columns = _columns(m, by)
    lines = [
        "| operation | " + " | ".join(h for h, _ in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for title, group in _rows(m):
        lines.append(f"| **{title}** |" + " |" * len(columns))
        for op in group:
            texts = [_shown(column[op], full_codes=by == "type")[0] for _, column in columns]
            lines.append(f"| {op} | " + " | ".join(texts) + " |")
    legend = _legend(m)
    return "\n".join(lines + (["", *legend] if legend else []))


_COLOURS = {True: "#c8e6c9", False: "#ffcdd2", None: "#fff3c4"}
_CELL_STYLE = "padding:2px 6px;border:1px solid #ddd;text-align:center;font-size:90%"


def to_html(cells: Iterable[Cell], by: By = "type") -> str:
    """A self-contained HTML table (inline styles), for notebooks and reports.

    Allowed cells are green with ✓; refused cells are red and show the AWS error code (its
    abbreviation with ``by="spec"``), with the full message as hover text (``title``).

    >>> page = derived_matrix().to_html()
    >>> hover = 'title="InvalidKeyUsageException: Encrypt is not valid for HMAC keys'
    >>> page.startswith("<table"), hover in page
    (True, True)
    """
    m = _matrix(cells)
    columns = _columns(m, by)
    vertical = "writing-mode:vertical-rl;transform:rotate(180deg);" if by == "spec" else ""
    head = "".join(
        f'<th style="{_CELL_STYLE};{vertical}" title="{html.escape(_header_title(h))}">'
        f"{html.escape(h)}</th>"
        for h, _ in columns
    )
    out = [
        f'<table class="kmslab-matrix" style="border-collapse:collapse">'
        f'<caption style="caption-side:top;text-align:left">Operations by key type '
        f"({html.escape(m.source)})</caption>",
        f'<thead><tr><th style="{_CELL_STYLE};text-align:left">operation</th>{head}</tr></thead>',
        "<tbody>",
    ]
    for title, group in _rows(m):
        out.append(
            f'<tr><th colspan="{len(columns) + 1}" style="{_CELL_STYLE};text-align:left;'
            f'background:#eee">{html.escape(title)}</th></tr>'
        )
        for op in group:
            tds = []
            for _, column in columns:
                text, allowed = _shown(column[op], full_codes=by == "type")
                tds.append(
                    f'<td style="{_CELL_STYLE};background:{_COLOURS[allowed]}" '
                    f'title="{html.escape(_cell_title(column[op]))}">{html.escape(text)}</td>'
                )
            out.append(
                f'<tr><th style="{_CELL_STYLE};text-align:left;font-weight:normal">'
                f"{html.escape(op)}</th>{''.join(tds)}</tr>"
            )
    out.append("</tbody></table>")
    legend = _legend(m)
    if legend:
        out.append(
            '<p style="font-size:85%">' + "<br>".join(html.escape(x) for x in legend) + "</p>"
        )
    return "\n".join(out)


def _header_title(header: str) -> str:
    return specs.KEY_TYPES.get(header, header)


def _cell_title(cells: list[Cell]) -> str:
    first = cells[0]
    parts = []
    if first.allowed:
        parts.append(f"{first.operation}: allowed")
    else:
        parts.append(f"{first.error}: {first.message or ''}".rstrip(": "))
    if len(cells) > 1:
        parts.append(f"({len(cells)} key specs: {', '.join(c.key_spec for c in cells)})")
    elif first.allowed and first.message:
        parts.append(first.message)
    parts += sorted({f"{c.key_spec}: {c.note}" for c in cells if c.note is not None})
    return " ".join(parts)


def plot(cells: Iterable[Cell], by: By = "type") -> Figure:
    """A heat map: green allowed, red refused (labelled with the error), yellow mixed.

    Returns a :class:`matplotlib.figure.Figure` (no pyplot state is touched).
    """
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    m = _matrix(cells)
    columns = _columns(m, by)
    ops = [o for _, group in _rows(m) for o in group]
    codes = {False: 0.0, True: 1.0, None: 2.0}
    grid: list[list[float]] = []
    labels: list[list[str]] = []
    for op in ops:
        row, text_row = [], []
        for _, column in columns:
            text, allowed = _shown(column[op], full_codes=False)
            row.append(codes[allowed])
            text_row.append(text)
        grid.append(row)
        labels.append(text_row)
    width = 2.5 + 0.75 * len(columns) if by == "type" else 3 + 0.32 * len(columns)
    fig = Figure(figsize=(width, 1.2 + 0.26 * len(ops)), layout="constrained")
    ax = fig.subplots()
    cmap = ListedColormap([_COLOURS[False], _COLOURS[True], _COLOURS[None]])
    ax.imshow(grid, cmap=cmap, vmin=0, vmax=2, aspect="auto")
    size = 7 if by == "type" else 5
    for i, text_row in enumerate(labels):
        for j, text in enumerate(text_row):
            ax.text(j, i, text, ha="center", va="center", fontsize=size)
    ax.set_xticks(range(len(columns)), [h for h, _ in columns], fontsize=7)
    if by == "spec":
        ax.tick_params(axis="x", labelrotation=90)
    ax.xaxis.tick_top()
    ax.set_yticks(range(len(ops)), ops, fontsize=7)
    boundary = 0
    for _, group in _rows(m)[:-1]:  # a rule between the data plane and key management
        boundary += len(group)
        ax.axhline(boundary - 0.5, color="black", linewidth=1.2)
    ax.set_xlabel("\n".join(_legend(m)), fontsize=7, loc="left")
    ax.set_title(f"Operations by {'key type' if by == 'type' else 'KeySpec/KeyUsage'} ({m.source})")
    ax.legend(
        handles=[
            Patch(color=_COLOURS[True], label="allowed"),
            Patch(color=_COLOURS[False], label="refused (AWS error)"),
        ],
        loc="upper left",
        bbox_to_anchor=(1.01, 1),
        fontsize=7,
    )
    return fig


def to_records(cells: Iterable[Cell]) -> list[dict[str, Any]]:
    """One JSON-ready record per cell (see :meth:`Cell.to_record`).

    >>> to_records(derived_matrix())[0]  # doctest: +NORMALIZE_WHITESPACE
    {'operation': 'Encrypt', 'key_type': 'SYMMETRIC_DEFAULT/ENCRYPT_DECRYPT',
     'allowed': True, 'error': None}
    """
    return [c.to_record() for c in cells]
