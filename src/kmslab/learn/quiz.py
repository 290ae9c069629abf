"""The lessons' quizzes: multiple-choice questions read from ``quizzes/NN.toml``, one file
per lesson, whose options each carry their own explanation.

>>> q = quiz("04")
>>> print(q["calls"].text())
How many KMS calls does sealing a 1 GB file with envelope encryption take?
  a) 2
  b) 1
  c) one per 4 KiB
>>> q["calls"].check("c")
Not yet.
- one per 4 KiB: no: that would be Encrypt on every chunk, the slow way.
>>> q["calls"].check("b").correct
True

The file format. A quiz file has a ``title`` and a list of ``[[question]]`` tables. A
question written out in full has a ``key`` (its name in ``quiz[key]``), its ``text``, its
``options`` (a table: option -> explanation, in the order written) and either ``answer``
(an option, or a list of them) or ``correct_when`` (a table: option -> a catalogue test,
below). ``multiple = true`` lets the learner choose several options::

    [[question]]
    key = "calls"
    text = "How many KMS calls does sealing a 1 GB file with envelope encryption take?"
    answer = "1"

    [question.options]
    "1" = "right: one GenerateDataKey; the data is encrypted locally."
    "2" = "no: GenerateDataKey already returns the encrypted copy of the key."

Facts of the catalogue (:mod:`kmslab.specs`) and the operation rules
(:mod:`kmslab.kms.rules`) are never written in a quiz file; a question asks for them:

- A whole question generated from the tables: ``kind = "operations"`` (``spec``, ``usage``,
  ``operations``: which of these does the key allow?), ``kind = "spec_usage"`` (``usage``,
  ``specs``: which of these specs allow the usage?), ``kind = "security"`` (``spec``,
  ``family``: which spec of the family has the same security strength?). See :data:`KINDS`.
- A placeholder ``{name:arg:...}`` in any text, option or answer, filled from the tables:
  ``{refusal:Encrypt}``, ``{usages:HMAC_256}``, ``{max_message_bytes}``,
  ``{alg:RSA_2048:RSAES_OAEP_SHA_1:max_plaintext_bytes}`` (any field of
  :class:`kmslab.specs.Algorithm`). An answer that is one placeholder whose value is a list
  names several options. See :data:`FACTS`.
- ``correct_when`` tests: ``{allowed:GenerateDataKey:HMAC_256:GENERATE_VERIFY_MAC}``,
  ``{no_default_usage:HMAC_256}``, ``{disjoint:Encrypt:Sign}`` (no key type takes both).

The options are shown in a fixed rotation (by the question's key), so the right answer is
not always a). A file that breaks these rules raises :class:`QuizFileError` naming the file
and the question.
"""

from __future__ import annotations

import html
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from kmslab import specs
from kmslab.kms import rules
from kmslab.learn.feedback import CheckResult, type_label, types_text, verdict

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["FACTS", "KINDS", "LESSONS", "Question", "Quiz", "QuizFileError", "load", "quiz"]

#: Where the quiz files live: ``NN.toml`` for lesson NN.
QUIZ_DIR = Path(__file__).with_name("quizzes")
#: The lessons that have a quiz.
LESSONS: tuple[str, ...] = tuple(sorted(p.stem for p in QUIZ_DIR.glob("[0-9][0-9]*.toml")))

_LETTERS = "abcdefghij"


class QuizFileError(ValueError):
    """A quiz file that cannot be read: the message names the file and the question."""


# -- questions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    """A multiple-choice question; every option has its own explanation.

    ``check`` takes an option's letter ("b") or its text; for ``multiple`` questions, an
    iterable of them.
    """

    key: str
    prompt: str
    options: tuple[str, ...]
    answer: frozenset[str]
    explain: Mapping[str, str] = field(default_factory=dict)
    multiple: bool = False

    def _resolve(self, choice: object) -> str | None:
        text = str(choice).strip()
        if len(text) == 1 and text.lower() in _LETTERS[: len(self.options)]:
            return self.options[_LETTERS.index(text.lower())]
        for option in self.options:
            if option.lower() == text.lower():
                return option
        return None

    def check(self, answer: object) -> CheckResult:
        if answer is None or answer is ...:
            return CheckResult(False, (), "Pick an option by letter or text.", "No answer yet.")
        raw = (
            list(answer)
            if self.multiple and isinstance(answer, Iterable) and not isinstance(answer, str)
            else [answer]
        )
        chosen: list[str] = []
        for choice in raw:
            option = self._resolve(choice)
            if option is None:
                letters = ", ".join(_LETTERS[: len(self.options)])
                return CheckResult(
                    False, (f"{choice!r} is not one of the options ({letters}).",), "", "Not yet."
                )
            chosen.append(option)
        if not self.multiple and len(chosen) != 1:
            return CheckResult(False, ("Choose exactly one option.",), summary="Not yet.")
        picked = set(chosen)
        if picked == self.answer:
            right = [f"{o}: {self.explain[o]}" for o in self.options if o in picked]
            return CheckResult(True, tuple(right))
        if not self.multiple:
            (only,) = picked
            return CheckResult(False, (f"{only}: {self.explain.get(only, 'not this one.')}",))
        wrong = [f"{o}: {self.explain[o]}" for o in self.options if o in picked - self.answer]
        missed = len(self.answer - picked)
        if missed:
            wrong.append(f"{missed} right option(s) not chosen yet.")
        return CheckResult(False, tuple(wrong), "More than one option may be right.")

    def text(self) -> str:
        lines = [self.prompt + (" (choose all that apply)" if self.multiple else "")]
        lines += [f"  {_LETTERS[i]}) {o}" for i, o in enumerate(self.options)]
        return "\n".join(lines)


@dataclass(frozen=True)
class Quiz:
    """A lesson's questions; ``quiz[key]`` or ``quiz[1]`` picks one, ``check(**answers)``
    marks several at once."""

    lesson: str
    title: str
    questions: tuple[Question, ...]

    def __getitem__(self, key: str | int) -> Question:
        if isinstance(key, int):
            return self.questions[key - 1]
        for q in self.questions:
            if q.key == key:
                return q
        raise KeyError(f"no question {key!r}; questions: {', '.join(self.keys())}")

    def keys(self) -> list[str]:
        return [q.key for q in self.questions]

    def check(self, **answers: object) -> CheckResult:
        """Mark the answers given (by question key); unanswered questions are listed."""
        wrong: list[str] = []
        for q in self.questions:
            result = q.check(answers.get(q.key))
            if not result.correct:
                reason = "; ".join(result.feedback) or result.summary
                wrong.append(f"{q.key}: {reason}")
        unknown = sorted(set(answers) - set(self.keys()))
        wrong += [f"{k}: no such question." for k in unknown]
        return verdict(wrong, len(self.questions), [], "Check one question at a time: quiz[key].")

    def __repr__(self) -> str:
        blocks = [f"{i}. [{q.key}] {q.text()}" for i, q in enumerate(self.questions, 1)]
        return f"Quiz {self.lesson}: {self.title}\n\n" + "\n\n".join(blocks)

    def _repr_html_(self) -> str:
        items = []
        for q in self.questions:
            options = "".join(
                f"<li><code>{_LETTERS[i]}</code>) {html.escape(o)}</li>"
                for i, o in enumerate(q.options)
            )
            many = " <i>(choose all that apply)</i>" if q.multiple else ""
            items.append(
                f"<li><b>{html.escape(q.prompt)}</b>{many} <code>[{q.key}]</code>"
                f'<ul style="list-style:none">{options}</ul></li>'
            )
        title = f"Quiz {self.lesson}: {html.escape(self.title)}"
        return f"<div><b>{title}</b><ol>{''.join(items)}</ol></div>"


# -- facts from the catalogue -----------------------------------------------------------------


def _alg(spec: str, name: str, attribute: str) -> object:
    alg = specs.get(spec).algorithm(name)
    if alg is None or not hasattr(alg, attribute):
        raise LookupError(f"{spec} has no algorithm {name} with a field {attribute}")
    return getattr(alg, attribute)


def _disjoint(first: str, second: str) -> bool:
    return not rules.OPERATIONS[first].key_types & rules.OPERATIONS[second].key_types


#: The placeholders a quiz file may use, ``{name:arg:...}``: name -> function of the args.
FACTS: dict[str, Callable[..., object]] = {
    "refusal": lambda op: rules.OPERATIONS[op].refusal,
    "usages": lambda spec: specs.get(spec).usage_names,
    "alg": _alg,
    "max_message_bytes": lambda: specs.MAX_MESSAGE_BYTES,
    "allowed": rules.allowed,
    "no_default_usage": lambda spec: specs.get(spec).default_usage is None,
    "disjoint": _disjoint,
}

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def _fact(call: str) -> object:
    name, *args = call.split(":")
    if name not in FACTS:
        raise LookupError(f"unknown placeholder {{{call}}}; known: {', '.join(FACTS)}")
    try:
        return FACTS[name](*args)
    except (LookupError, TypeError, ValueError) as err:
        raise LookupError(f"placeholder {{{call}}}: {err}") from None


def _as_text(value: object, call: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, tuple)):
        raise LookupError(f"placeholder {{{call}}} is not text: {value!r}")
    return ", ".join(map(str, value)) if isinstance(value, tuple) else str(value)


def _fill(text: str) -> str:
    """``text`` with each placeholder replaced by its value (lists joined with ", ")."""
    return _PLACEHOLDER.sub(lambda m: _as_text(_fact(m[1]), m[1]), text)


def _fill_answer(text: str) -> list[str]:
    """An answer: a placeholder alone whose value is a list names several options."""
    whole = _PLACEHOLDER.fullmatch(text)
    if whole is not None:
        value = _fact(whole[1])
        if isinstance(value, tuple):
            return [str(v) for v in value]
    return [_fill(text)]


def _test(text: str) -> bool:
    whole = _PLACEHOLDER.fullmatch(text)
    value = _fact(whole[1]) if whole is not None else None
    if not isinstance(value, bool):
        raise LookupError(f"correct_when needs a test such as {{allowed:...}}, not {text!r}")
    return value


# -- generated questions ----------------------------------------------------------------------

_Built = tuple[str, dict[str, str], list[str]]  # prompt, option -> explanation, answer


def _spec_usage(usage: str, specs_: list[str]) -> _Built:
    """Which of these specs allow ``usage``? Answers and reasons read from the catalogue."""
    options = {}
    for name in specs_:
        info = specs.get(name)
        verb = "allows" if info.usage(usage) else "does not allow"
        options[name] = f"{verb} {usage} (its usages: {', '.join(info.usage_names)})."
    answer = [n for n in options if specs.get(n).usage(usage) is not None]
    return f"Which key specs can have KeyUsage {usage}?", options, answer


def _operations(spec: str, usage: str, operations: list[str]) -> _Built:
    """Which of these operations does a (spec, usage) key allow? Read from the rules."""
    options = {}
    for op in operations:
        rule = rules.OPERATIONS[op]
        verb = "allowed" if rules.allowed(op, spec, usage) else rule.refusal
        options[op] = f"{verb}: it takes {types_text(rule.key_types)}."
    answer = [op for op in options if rules.allowed(op, spec, usage)]
    kind = type_label(specs.key_type(spec, usage))
    return f"Which operations does a key with KeySpec {spec} ({kind}) allow?", options, answer


def _security(spec: str, family: str) -> _Built:
    """Which spec of ``family`` has the security strength of ``spec``?"""
    bits = specs.get(spec).security_bits
    options = {
        s.name: f"{s.security_bits}-bit security strength."
        for s in specs.all_specs()
        if s.family == family
    }
    answer = [n for n in options if specs.get(n).security_bits == bits]
    prompt = f"{spec} gives {bits}-bit security. Which {family.upper()} key spec matches it?"
    return prompt, options, answer


#: The generated kinds: ``kind`` -> (builder, its parameters, whether several answers are right).
KINDS: dict[str, tuple[Callable[..., _Built], tuple[str, ...], bool]] = {
    "spec_usage": (_spec_usage, ("usage", "specs"), True),
    "operations": (_operations, ("spec", "usage", "operations"), True),
    "security": (_security, ("spec", "family"), False),
}

# -- reading a file ---------------------------------------------------------------------------

_WRITTEN = {"key", "text", "options", "answer", "correct_when", "multiple"}


def _rotated(key: str, names: list[str]) -> tuple[str, ...]:
    # A fixed shuffle, so the right answer is not always option a).
    turn = sum(map(ord, key)) % len(names)
    return tuple(names[turn:] + names[:turn])


def _written(row: Mapping[str, Any]) -> _Built:
    if set(row) - _WRITTEN:
        raise ValueError(f"unknown field(s) {sorted(set(row) - _WRITTEN)}")
    if not isinstance(row.get("text"), str) or not _strings(row.get("options")):
        raise ValueError("needs a text and an options table (option = explanation)")
    if not isinstance(row.get("multiple", False), bool):
        raise ValueError("multiple is true or false")
    options = {_fill(o): _fill(e) for o, e in row["options"].items()}
    if ("answer" in row) == ("correct_when" in row):
        raise ValueError("needs exactly one of answer and correct_when")
    if "answer" in row:
        given = row["answer"] if isinstance(row["answer"], list) else [row["answer"]]
        if not all(isinstance(text, str) for text in given):
            raise ValueError("the answer is an option's text, or a list of them")
        answer = [a for text in given for a in _fill_answer(text)]
    else:
        if not _strings(row["correct_when"]):
            raise ValueError("correct_when is a table: option = test")
        tests = {_fill(o): _test(t) for o, t in row["correct_when"].items()}
        answer = [o for o, holds in tests.items() if holds]
    return _fill(row["text"]), options, answer


def _strings(table: object) -> bool:
    return isinstance(table, dict) and all(isinstance(v, str) for v in table.values())


def _generated(row: Mapping[str, Any]) -> _Built:
    build, params, _ = KINDS[row["kind"]]
    unknown = set(row) - {"key", "kind", *params}
    if unknown or set(params) - set(row):
        raise ValueError(f"kind {row['kind']!r} takes exactly {', '.join(params)}")
    return build(*(row[p] for p in params))


def _question(row: Mapping[str, Any]) -> Question:
    key = row["key"]
    kind = row.get("kind")
    if kind is not None and kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; kinds: {', '.join(KINDS)}")
    prompt, options, answer = _generated(row) if kind else _written(row)
    multiple = KINDS[kind][2] if kind else bool(row.get("multiple", False))
    if not options or not all(options.values()):
        raise ValueError("every option needs an explanation")
    if not answer or not set(answer) <= set(options):
        raise ValueError(f"the answer {answer} is not among the options {list(options)}")
    if not multiple and len(answer) != 1:
        raise ValueError(f"one answer expected (multiple = false), got {answer}")
    names = list(options)
    return Question(key, prompt, _rotated(key, names), frozenset(answer), options, multiple)


def load(path: Path, lesson: str | None = None) -> Quiz:
    """Read one quiz file; ``lesson`` defaults to the file's stem ("04").

    Raises :class:`QuizFileError` naming the file (and the question) when it is not valid
    TOML, breaks the format above, or asks the catalogue for something it does not hold.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise QuizFileError(f"{path}: not valid TOML: {err}") from None
    rows = data.get("question")
    if not isinstance(data.get("title"), str) or not isinstance(rows, list) or not rows:
        raise QuizFileError(f"{path}: needs a title and at least one [[question]]")
    questions: list[Question] = []
    for number, row in enumerate(rows, 1):
        key = row.get("key") if isinstance(row, dict) else None
        where = f"question {key!r}" if isinstance(key, str) else f"question {number} (no key)"
        try:
            if not isinstance(row, dict) or not isinstance(key, str):
                raise ValueError("needs a key")
            if key in {q.key for q in questions}:
                raise ValueError("the key is used twice")
            questions.append(_question(row))
        except (LookupError, TypeError, ValueError) as err:
            raise QuizFileError(f"{path}: {where}: {err}") from None
    return Quiz(lesson or path.stem, data["title"], tuple(questions))


@cache
def _load_lesson(name: str) -> Quiz:
    return load(QUIZ_DIR / f"{name}.toml")


def quiz(lesson: str | int) -> Quiz:
    """The self-check quiz of a lesson ("00".."08", "08b", or the number).

    >>> quiz(1)["hmac_default"].check("b")  # doctest: +NORMALIZE_WHITESPACE
    Correct!
    - ValidationException: right: AWS requires KeyUsage for every key except symmetric
      encryption keys (HMAC_256 allows GENERATE_VERIFY_MAC).
    """
    name = f"{int(lesson):02d}" if not isinstance(lesson, str) else lesson.zfill(2)
    if name not in LESSONS:
        raise KeyError(f"no quiz for lesson {lesson!r}; lessons: {', '.join(LESSONS)}")
    return _load_lesson(name)
