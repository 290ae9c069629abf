"""kmslab.learn.quiz: every lesson's quiz loads from its data file, shows and answers exactly
what it did when the quizzes were Python, and a broken file says which file and question.

``data/quiz_output.json`` holds what the quizzes written in Python showed: the plain and HTML
rendering of each quiz, and the feedback to every option, the right answer, all options, no
answer and a letter out of range. It was captured once from that code with :func:`capture`;
regenerate it only on purpose, after changing a quiz: ``python tests/learn/test_quiz.py``.
Right answers in ``EXPECTED_ANSWERS`` are written from AWS's documentation; where an answer is
a behaviour (an error code, a key state), the local KMS is asked too.
"""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmslab.learn import exercises
from kmslab.learn.quiz import LESSONS as FOUND
from kmslab.learn.quiz import QUIZ_DIR, QuizFileError, load

FIXTURE = Path(__file__).parent / "data" / "quiz_output.json"
LESSONS = [*(f"{n:02d}" for n in range(9)), "08b", "09", "10"]


def _result(result: Any) -> list[str]:
    return [repr(result), result._repr_html_()]


def capture(lesson: str) -> dict[str, Any]:
    """What a learner sees of one lesson's quiz, and the feedback to every answer."""
    q_all = exercises.quiz(lesson)
    questions: dict[str, Any] = {}
    for q in q_all.questions:
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
    right_answers = {
        q.key: sorted(q.answer) if q.multiple else min(q.answer) for q in q_all.questions
    }
    return {
        "title": q_all.title,
        "repr": repr(q_all),
        "html": q_all._repr_html_(),
        "questions": questions,
        "all_a": _result(q_all.check(**{q.key: "a" for q in q_all.questions})),
        "all_right": _result(q_all.check(**right_answers)),
    }


@pytest.mark.parametrize("lesson", LESSONS)
def test_quiz_shows_and_answers_what_the_python_quizzes_did(lesson: str) -> None:
    expected = json.loads(FIXTURE.read_text(encoding="utf-8"))[lesson]
    got = capture(lesson)
    for key, question in expected["questions"].items():
        assert got["questions"][key] == question, key
    assert got == expected


def test_every_lesson_has_a_quiz_file() -> None:
    assert list(FOUND) == LESSONS
    assert sorted(p.name for p in QUIZ_DIR.glob("*.toml")) == [f"{n}.toml" for n in LESSONS]


# -- quizzes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_quiz_is_well_formed(lesson: str) -> None:
    quiz = exercises.quiz(lesson)
    assert quiz.lesson == lesson and 2 <= len(quiz.questions) <= 5
    assert len(set(quiz.keys())) == len(quiz.keys())
    for q in quiz.questions:
        assert q.answer and q.answer <= set(q.options)
        assert set(q.explain) == set(q.options), q.key  # every option explains itself
        assert q.multiple or len(q.answer) == 1
        assert q.check(sorted(q.answer) if q.multiple else next(iter(q.answer))).correct
    text = repr(quiz)
    assert text.startswith(f"Quiz {lesson}: {quiz.title}")
    assert all(f"[{q.key}]" in text for q in quiz.questions)
    assert quiz._repr_html_().count("<li><b>") == len(quiz.questions)


def test_quiz_lookup() -> None:
    assert exercises.quiz(4) == exercises.quiz("04") == exercises.quiz("4")
    quiz = exercises.quiz(4)
    assert quiz[1] is quiz["calls"] is quiz.questions[0]
    with pytest.raises(KeyError, match="no quiz for lesson"):
        exercises.quiz(99)
    with pytest.raises(KeyError, match="no question 'nope'"):
        exercises.quiz(4)["nope"]


# Answers written from the reference, not from kmslab's tables.
EXPECTED_ANSWERS = {
    ("01", "agreement"): {"ECC_NIST_P256", "ECC_NIST_P521"},
    ("01", "hmac_default"): {"ValidationException"},
    ("02", "hmac_ops"): {"GenerateMac", "VerifyMac"},
    ("02", "public_key"): {"UnsupportedOperationException"},
    ("02", "encrypt_and_sign"): {"none: a key has one KeyUsage"},
    ("03", "rsa_match"): {"RSA_3072"},
    ("04", "data_key_specs"): {"SYMMETRIC_DEFAULT"},
    ("05", "oaep_sha1"): {"214"},
    ("06", "digest_len"): {"48"},
    ("06", "ed25519ph"): {"DIGEST"},
    ("07", "ecdh_specs"): {"ECC_NIST_P384"},
    ("08", "cancel"): {"Disabled"},
    ("09", "delegation"): {"AccessDeniedException"},
    ("09", "context"): {"context project=alpha, team=x"},
}


@pytest.mark.parametrize(("where", "answer"), EXPECTED_ANSWERS.items())
def test_quiz_answers_match_the_reference(where: tuple[str, str], answer: set[str]) -> None:
    lesson, key = where
    assert exercises.quiz(lesson)[key].answer == answer


def test_single_choice_feedback_names_only_the_choice() -> None:
    q = exercises.quiz("04")["context"]
    letter = "abc"[q.options.index("IncorrectKeyException")]
    result = q.check(letter.upper())
    assert not result.correct
    assert result.feedback == (
        "IncorrectKeyException: no: that is for a KeyId that names another key.",
    )
    assert "InvalidCiphertextException" not in repr(result)  # the answer is not given away


def test_multiple_choice_feedback() -> None:
    q = exercises.quiz("05")["decrypt_needs"]
    partial = q.check(["KeyId", "EncryptionContext"])
    assert partial.feedback == (
        "EncryptionContext: no: encryption context is for symmetric keys only.",
        "1 right option(s) not chosen yet.",
    )
    assert q.check(["keyid", "encryptionalgorithm"]).correct  # text, any case


def test_bad_quiz_answers() -> None:
    q = exercises.quiz("06")["digest_len"]
    assert q.check(None).summary == q.check(...).summary == "No answer yet."
    assert "not one of the options" in q.check("z").feedback[0]
    assert q.check(["a", "b"]).feedback[0].startswith("['a', 'b'] is not one of the options")


def test_quiz_check_marks_several_answers() -> None:
    quiz = exercises.quiz("08")
    right = {q.key: next(iter(q.answer)) for q in quiz.questions}
    assert quiz.check(**right).correct
    result = quiz.check(cancel="Enabled", bogus="x")
    assert not result.correct
    assert result.feedback[0].startswith("cancel: Enabled: no:")
    assert "window: No answer yet." in result.feedback
    assert result.feedback[-1] == "bogus: no such question."


# -- quiz answers that are behaviour: ask the local KMS ------------------------------------------


def _code(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return str(info.value.response["Error"]["Code"])


def test_behaviour_answers_match_the_local_kms(client: Any, keys: Any, fresh_key: Any) -> None:
    def answer(lesson: str, key: str) -> str:
        (only,) = exercises.quiz(lesson)[key].answer
        return only

    assert _code(client.create_key, KeySpec="HMAC_256") == answer("01", "hmac_default")
    symmetric = keys.id("SYMMETRIC_DEFAULT")
    assert _code(client.get_public_key, KeyId=symmetric) == answer("02", "public_key")
    signing = keys.id("ECC_NIST_P256", "SIGN_VERIFY")
    assert _code(client.encrypt, KeyId=signing, Plaintext=b"x") == answer("00", "error")
    blob = client.encrypt(KeyId=symmetric, Plaintext=b"x", EncryptionContext={"a": "b"})
    wrong_context = _code(
        client.decrypt, CiphertextBlob=blob["CiphertextBlob"], EncryptionContext={"a": "B"}
    )
    assert wrong_context == answer("04", "context")
    sig = client.sign(KeyId=signing, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    bad = _code(
        client.verify, KeyId=signing, Message=b"n", Signature=sig, SigningAlgorithm="ECDSA_SHA_256"
    )
    assert f"raises {bad}" == answer("06", "bad_signature")
    key = fresh_key()["KeyId"]
    client.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    client.cancel_key_deletion(KeyId=key)
    state = client.describe_key(KeyId=key)["KeyMetadata"]["KeyState"]
    assert state == answer("08", "cancel")
    assert _code(client.schedule_key_deletion, KeyId=key, PendingWindowInDays=6) == (
        "ValidationException"
    )


# -- one right option, every option explained ----------------------------------------------


@pytest.mark.parametrize("lesson", LESSONS)
def test_single_choice_questions_have_exactly_one_right_option(lesson: str) -> None:
    for q in exercises.quiz(lesson).questions:
        assert len(q.answer) == 1 or q.multiple, q.key
        assert all(q.explain[o].strip() for o in q.options), q.key
        assert len(set(q.options)) == len(q.options), q.key


def test_generated_questions_follow_the_catalogue() -> None:
    # Generated from specs/rules: the same facts the checks read, not written in the files.
    hmac_ops = exercises.quiz("02")["hmac_ops"]
    assert hmac_ops.explain["Encrypt"] == (
        "InvalidKeyUsageException: it takes Symmetric encryption KMS key or Asymmetric KMS key "
        "(ENCRYPT_DECRYPT)."
    )
    assert exercises.quiz("03")["rsa_match"].prompt == (
        "ECC_NIST_P256 gives 128-bit security. Which RSA key spec matches it?"
    )
    for path in QUIZ_DIR.glob("*.toml"):  # the refusal codes come from the rules
        assert 'answer = "InvalidKeyUsageException"' not in path.read_text(), path.name


# -- broken files -----------------------------------------------------------------------------

GOOD = """
title = "T"

[[question]]
key = "q1"
text = "Which?"
answer = "a1"

[question.options]
"a1" = "right."
"a2" = "no."
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "42.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_file_loads(tmp_path: Path) -> None:
    loaded = load(_write(tmp_path, GOOD))
    assert loaded.lesson == "42" and loaded.title == "T"
    assert loaded["q1"].answer == {"a1"}
    assert loaded["q1"].check("a1").correct


BROKEN = {
    "no explanation": (GOOD.replace('"a2" = "no."', '"a2" = ""'), "every option needs an"),
    "answer not an option": (GOOD.replace('answer = "a1"', 'answer = "a3"'), "not among"),
    "two answers, one choice": (
        GOOD.replace('answer = "a1"', 'answer = ["a1", "a2"]'),
        "one answer expected",
    ),
    "no answer": (GOOD.replace('answer = "a1"\n', ""), "exactly one of answer and correct_when"),
    "typo in a field": (GOOD.replace("answer =", "anwser ="), "unknown field(s) ['anwser']"),
    "unknown placeholder": (
        GOOD.replace('"a2" = "no."', '"a2" = "no: {refusal_of:Encrypt}."'),
        "unknown placeholder {refusal_of:Encrypt}",
    ),
    "unknown operation": (
        GOOD.replace('"a2" = "no."', '"a2" = "no: {refusal:Encrypts}."'),
        "placeholder {refusal:Encrypts}",
    ),
    "unknown spec": (
        GOOD.replace('answer = "a1"', 'answer = "{alg:RSA_1024:RSAES_OAEP_SHA_1:digest_bytes}"'),
        "Unknown key spec 'RSA_1024'",
    ),
    "a test that is no test": (
        GOOD.replace('answer = "a1"', '[question.correct_when]\n"a1" = "{refusal:Encrypt}"'),
        "correct_when needs a test",
    ),
    "unknown kind": ('title = "T"\n[[question]]\nkey = "q1"\nkind = "opps"\n', "unknown kind"),
    "kind with a missing parameter": (
        'title = "T"\n[[question]]\nkey = "q1"\nkind = "security"\nspec = "RSA_2048"\n',
        "kind 'security' takes exactly spec, family",
    ),
}


@pytest.mark.parametrize(("text", "message"), BROKEN.values(), ids=list(BROKEN))
def test_a_broken_question_names_the_file_and_the_question(
    tmp_path: Path, text: str, message: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(QuizFileError) as info:
        load(path)
    assert str(info.value).startswith(f"{path}: question 'q1': ")
    assert message in str(info.value)


def test_a_file_that_is_not_toml_names_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace('answer = "a1"', "answer = a1"))
    with pytest.raises(QuizFileError, match=r"42\.toml: not valid TOML: .*line 7"):
        load(path)


def test_a_question_without_a_key_is_named_by_its_place(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD + '\n[[question]]\ntext = "?"\n')
    with pytest.raises(QuizFileError, match=r"42\.toml: question 2 \(no key\): needs a key"):
        load(path)
    with pytest.raises(QuizFileError, match=r"42\.toml: needs a title"):
        load(_write(tmp_path, 'title = "T"\n'))


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(at=st.integers(0, len(GOOD)), cut=st.integers(0, 8), insert=st.text(max_size=8))
def test_any_damaged_file_loads_or_names_the_file(
    tmp_path: Path, at: int, cut: int, insert: str
) -> None:
    path = _write(tmp_path, GOOD[:at] + insert + GOOD[at + cut :])
    try:
        load(path)
    except QuizFileError as err:
        assert str(err).startswith(f"{path}: ")


if __name__ == "__main__":
    FIXTURE.write_text(
        json.dumps({n: capture(n) for n in LESSONS}, indent=1, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    print(f"wrote {FIXTURE}")
