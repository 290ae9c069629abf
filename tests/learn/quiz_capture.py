"""What a learner sees of every quiz: the text, and the feedback of every answer one can give.

``capture()`` renders each lesson's quiz (plain text and HTML), and checks every option, the
right answer, all options at once, no answer and a letter out of range. The output of the
quiz modules written in Python was stored once in ``data/quiz_output.json``; the quizzes read
from data files must reproduce it exactly (tests/learn/test_quiz.py).

Regenerate only on purpose, after changing a quiz: ``python tests/learn/quiz_capture.py``.
"""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

from kmslab import exercises

FIXTURE = Path(__file__).parent / "data" / "quiz_output.json"
LESSONS = [f"{n:02d}" for n in range(9)]


def _result(result: Any) -> list[str]:
    return [repr(result), result._repr_html_()]


def capture() -> dict[str, Any]:
    """Every quiz's rendering and feedback, keyed by lesson."""
    out: dict[str, Any] = {}
    for lesson in LESSONS:
        quiz = exercises.quiz(lesson)
        questions: dict[str, Any] = {}
        for q in quiz.questions:
            letters = string.ascii_lowercase[: len(q.options)]
            right = sorted(q.answer) if q.multiple else next(iter(q.answer))
            questions[q.key] = {
                "text": q.text(),
                "options": list(q.options),
                "answer": sorted(q.answer),
                "multiple": q.multiple,
                "by_letter": {x: _result(q.check(x)) for x in letters},
                "by_text": {o: _result(q.check(o.upper())) for o in q.options},
                "right": _result(q.check(right)),
                "all": _result(q.check(list(letters) if q.multiple else letters)),
                "none": _result(q.check(None)),
                "out_of_range": _result(q.check("z")),
            }
        out[lesson] = {
            "title": quiz.title,
            "repr": repr(quiz),
            "html": quiz._repr_html_(),
            "questions": questions,
            "all_a": _result(quiz.check(**{k: "a" for k in quiz.keys()})),
            "all_right": _result(
                quiz.check(
                    **{q.key: sorted(q.answer) if q.multiple else min(q.answer)
                       for q in quiz.questions}
                )
            ),
        }
    return out


if __name__ == "__main__":
    FIXTURE.write_text(json.dumps(capture(), indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {FIXTURE}")
