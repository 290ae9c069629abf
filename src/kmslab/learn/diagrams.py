"""Diagrams the lessons draw with code (matplotlib Figures), so they follow the catalogue and
never go stale as pictures do.

>>> fig = what_leaves_kms()
>>> [t.get_text() for t in fig.axes[0].texts][:2]
['key type', 'stays inside KMS']
>>> envelope_diagram().axes[0].get_title()
'Envelope encryption: one KMS call per envelope, whatever the size of the data'

Sources: AWS KMS Developer Guide, *Asymmetric keys in AWS KMS* (the private key never leaves
AWS KMS unencrypted), *Data keys* and *Data key pairs*, and the GetPublicKey API reference.
"""

from __future__ import annotations

from typing import Any

__all__ = ["WHAT_LEAVES", "envelope_diagram", "what_leaves_kms"]

#: Okabe and Ito's colour-blind-safe palette, lightened for box fills.
_STAYS, _LEAVES, _ONCE, _INK = "#F3C3A8", "#B5DDF2", "#F7E7A6", "#222222"

#: Key type -> (what stays inside KMS, what you can get out and how). One row each.
WHAT_LEAVES: dict[str, tuple[str, str]] = {
    "Symmetric encryption KMS key": (
        "the AES-256 key (SM4 in China):\nnever leaves unencrypted",
        "ciphertext only; data keys and\ndata key pairs (next row)",
    ),
    "HMAC KMS key": ("the HMAC key: never leaves", "MACs only"),
    "Asymmetric KMS key\n(any key usage)": (
        "the private key: never leaves",
        "the public key, any time:\nGetPublicKey (DER SubjectPublicKeyInfo)",
    ),
    "Data key / data key pair\n(from a symmetric KMS key)": (
        "nothing: KMS keeps no copy",
        "plaintext key once (in the response),\nplus a copy encrypted under the KMS key",
    ),
}


def _box(ax: Any, x: float, y: float, w: float, h: float, text: str, colour: str) -> None:
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(
        FancyBboxPatch(
            (x, y),
            w,
            h,
            boxstyle="round,pad=0.01,rounding_size=0.02",
            facecolor=colour,
            edgecolor=_INK,
            linewidth=1,
        )
    )
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=10, color=_INK)


def what_leaves_kms() -> Any:
    """Which key material leaves KMS, per key type: a grid of what stays inside and what
    you can get out. Returns a :class:`matplotlib.figure.Figure`."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9.2, 4.6), layout="constrained")
    ax = fig.add_subplot()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_axis_off()
    heads = (
        ("key type", 0.01, 0.27),
        ("stays inside KMS", 0.29, 0.33),
        ("you can get out", 0.63, 0.36),
    )
    for text, x, w in heads:
        ax.text(x + w / 2, 0.95, text, ha="center", va="center", fontsize=11, fontweight="bold")
    row_h = 0.2
    for i, (kind, (stays, leaves)) in enumerate(WHAT_LEAVES.items()):
        y = 0.88 - (i + 1) * (row_h + 0.015)
        _box(ax, 0.01, y, 0.27, row_h, kind, "#FFFFFF")
        _box(ax, 0.29, y, 0.33, row_h, stays, _STAYS)
        last = i == len(WHAT_LEAVES) - 1
        _box(ax, 0.63, y, 0.36, row_h, leaves, _ONCE if last else _LEAVES)
    ax.set_title("What key material leaves AWS KMS", fontsize=12)
    return fig


def envelope_diagram() -> Any:
    """Envelope encryption as boxes and arrows: GenerateDataKey returns a data key twice;
    the plaintext copy encrypts the data locally and is forgotten; the encrypted copy is
    stored beside the ciphertext; Decrypt turns it back later. Returns a Figure."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    fig = Figure(figsize=(9.5, 4.4), layout="constrained")
    ax = fig.add_subplot()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_axis_off()
    # Inside KMS.
    ax.add_patch(
        Rectangle((0.01, 0.55), 0.3, 0.4, facecolor="none", edgecolor=_INK, linestyle="--")
    )
    ax.text(0.16, 0.91, "AWS KMS", ha="center", fontsize=11, fontweight="bold")
    _box(ax, 0.04, 0.62, 0.24, 0.2, "KMS key\n(symmetric; never leaves)", _STAYS)
    # Your side.
    _box(ax, 0.42, 0.75, 0.22, 0.15, "data key\n(plaintext)", _ONCE)
    _box(ax, 0.42, 0.52, 0.22, 0.15, "data key\n(encrypted)", _LEAVES)
    _box(ax, 0.74, 0.75, 0.24, 0.15, "your data\n(plaintext, any size)", "#FFFFFF")
    _box(
        ax,
        0.6,
        0.08,
        0.38,
        0.22,
        "stored together:\nencrypted data key + nonce +\nAES-GCM ciphertext",
        _LEAVES,
    )

    def arrow(
        a: tuple[float, float],
        b: tuple[float, float],
        text: str,
        offset: tuple[float, float] = (0.0, 0.04),
        **kw: Any,
    ) -> None:
        ax.annotate(
            "", xy=b, xytext=a, arrowprops={"arrowstyle": "->", "color": _INK, "lw": 1.4, **kw}
        )
        x, y = (a[0] + b[0]) / 2 + offset[0], (a[1] + b[1]) / 2 + offset[1]
        ax.text(x, y, text, ha="center", fontsize=9)

    arrow((0.28, 0.76), (0.42, 0.82), "1. GenerateDataKey", (0.0, 0.07))
    arrow((0.28, 0.68), (0.42, 0.6), "")
    arrow((0.64, 0.82), (0.74, 0.82), "2. encrypt")
    arrow((0.85, 0.75), (0.85, 0.3), "3. AES-GCM, locally", (0.07, 0.0))
    arrow((0.53, 0.52), (0.65, 0.3), "4. store beside", (0.08, 0.02))
    ax.text(
        0.53, 0.96, "then forget the plaintext data key", ha="center", fontsize=9, style="italic"
    )
    arrow(
        (0.6, 0.15),
        (0.2, 0.55),
        "later: Decrypt(encrypted data key)",
        (-0.1, -0.2),
        connectionstyle="arc3,rad=-0.2",
    )
    ax.set_title("Envelope encryption: one KMS call per envelope, whatever the size of the data")
    return fig
