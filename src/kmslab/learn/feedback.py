"""What every self-check returns: a :class:`CheckResult` that says what was wrong and why.

Shared by the checks of :mod:`kmslab.learn.exercises` and the quizzes of
:mod:`kmslab.learn.quiz`, with the one phrasing both use for a set of key types.

>>> print(CheckResult(False, ("Encrypt: not allowed.",), "Look at KeyUsage."))
Not yet.
- Encrypt: not allowed.
Hint: Look at KeyUsage.
>>> types_text({"SYM", "A-ED"})
'Symmetric encryption KMS key or Asymmetric KMS key (ENCRYPT_DECRYPT)'
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass

from kmslab import specs

__all__ = ["NO_ANSWER", "CheckResult", "type_label", "types_text", "verdict"]


@dataclass(frozen=True)
class CheckResult:
    """The verdict of a check: ``correct``, one feedback line per point, and a hint.

    Truthy when correct. ``repr`` is plain text; ``_repr_html_`` the same, coloured.
    """

    correct: bool
    feedback: tuple[str, ...] = ()
    hint: str = ""
    summary: str = ""

    def __bool__(self) -> bool:
        return self.correct

    def _headline(self) -> str:
        if self.summary:
            return self.summary
        return "Correct!" if self.correct else "Not yet."

    def __repr__(self) -> str:
        lines = [self._headline(), *(f"- {line}" for line in self.feedback)]
        if self.hint and not self.correct:
            lines.append(f"Hint: {self.hint}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        colour = "#27ae60" if self.correct else "#c0392b"
        items = "".join(f"<li>{html.escape(line)}</li>" for line in self.feedback)
        hint = (
            f"<p><i>Hint:</i> {html.escape(self.hint)}</p>"
            if self.hint and not self.correct
            else ""
        )
        return (
            f'<div style="border-left:4px solid {colour};padding-left:8px">'
            f"<b>{html.escape(self._headline())}</b>"
            f"{f'<ul>{items}</ul>' if items else ''}{hint}</div>"
        )


def verdict(wrong: list[str], total: int, right: list[str], hint: str) -> CheckResult:
    """One result for ``total`` answers: the ``wrong`` lines if any, else the ``right`` ones."""
    if not wrong:
        return CheckResult(True, tuple(right), summary=f"Correct! All {total} answers are right.")
    return CheckResult(
        False,
        tuple(wrong),
        hint,
        summary=f"Not yet: {len(wrong)} of {total} answers need another look.",
    )


#: What every check returns for ``...``, the placeholder the lessons leave for your answer.
NO_ANSWER = CheckResult(
    False, (), "Replace ... with your answer and run the cell again.", "No answer yet."
)


def type_label(key_type: str) -> str:
    """The long name of a key type code: ``"A-SV"`` -> ``"Asymmetric KMS key (SIGN_VERIFY)"``."""
    return specs.AWS_KEY_TYPES[key_type]


_ASYMMETRIC = frozenset(t for t in specs.KEY_TYPES if t.startswith("A-"))


def types_text(key_types: Iterable[str]) -> str:
    """The key types an operation takes, in words, in the catalogue's order."""
    chosen = set(key_types)
    if chosen == _ASYMMETRIC:
        return "an asymmetric key (any usage)"
    if chosen == set(specs.KEY_TYPES):
        return "any key"
    return " or ".join(type_label(t) for t in specs.KEY_TYPES if t in chosen)
