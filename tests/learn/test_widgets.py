"""kmslab.learn.widgets, driven as a learner would, without a browser: set ``.value``, ``.click()``,
read the result widget's ``.value``."""

from __future__ import annotations

from typing import Any

import pytest

from kmslab import LocalKMS, specs
from kmslab.learn import exercises, widgets
from kmslab.learn.compare import derived_matrix

# The specs AWS lists per key usage (reference section 1), in the catalogue's order.
SPECS_BY_USAGE = {
    "ENCRYPT_DECRYPT": ["SYMMETRIC_DEFAULT", "RSA_2048", "RSA_3072", "RSA_4096", "SM2"],
    "SIGN_VERIFY": [
        "RSA_2048",
        "RSA_3072",
        "RSA_4096",
        "ECC_NIST_P256",
        "ECC_NIST_P384",
        "ECC_NIST_P521",
        "ECC_SECG_P256K1",
        "ECC_NIST_EDWARDS25519",
        "ML_DSA_44",
        "ML_DSA_65",
        "ML_DSA_87",
        "SM2",
    ],
    "GENERATE_VERIFY_MAC": ["HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512"],
    "KEY_AGREEMENT": ["ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "SM2"],
    "ENCAPSULATE_DECAPSULATE": ["ML_KEM_512", "ML_KEM_768", "ML_KEM_1024"],
}


@pytest.fixture
def local() -> tuple[LocalKMS, Any]:
    kms = LocalKMS()
    return kms, kms.client()


# -- key creator ------------------------------------------------------------------------------


def test_key_creator_offers_only_the_specs_valid_for_the_usage(client: Any) -> None:
    box = widgets.key_creator(client)
    c = box.controls
    assert list(c.usage.options) == list(SPECS_BY_USAGE)
    for usage, names in SPECS_BY_USAGE.items():
        c.usage.value = usage
        assert [value for _, value in c.spec.options] == names
        assert c.spec.value == names[0]
        if "SM2" in names:
            assert dict(c.spec.options)["SM2 (China Regions only)"] == "SM2"


def test_key_creator_creates_the_key_and_shows_its_card(local: tuple[LocalKMS, Any]) -> None:
    kms, client = local
    c = widgets.key_creator(client).controls
    assert c.result.value == ""
    c.usage.value = "ENCAPSULATE_DECAPSULATE"
    c.spec.value = "ML_KEM_768"
    c.create.click()
    (key,) = kms.keys.values()
    assert (key.info.name, key.usage) == ("ML_KEM_768", "ENCAPSULATE_DECAPSULATE")
    assert key.arn in c.result.value
    assert "Asymmetric KMS key (ENCAPSULATE_DECAPSULATE) (A-KEM)" in c.result.value
    assert "EncapsulationAlgorithms" in c.result.value
    assert specs.get("ML_KEM_768").summary in c.result.value


def test_key_creator_shows_an_aws_error_instead_of_a_traceback(
    local: tuple[LocalKMS, Any],
) -> None:
    kms, client = local
    report = widgets.create_key_report(client, "HMAC_256", "SIGN_VERIFY")
    assert "<b>ValidationException</b>" in report
    assert "KeyUsage SIGN_VERIFY is not compatible with KeySpec HMAC_256" in report
    assert kms.keys == {}


# -- operation explorer and prediction ------------------------------------------------------------


def test_operation_explorer_shows_the_cell_chosen() -> None:
    matrix = derived_matrix()
    c = widgets.operation_explorer(matrix).controls
    assert len(c.pair.options) == len(specs.valid_pairs())
    assert c.result.value  # something is shown from the start
    c.pair.value = ("HMAC_256", "GENERATE_VERIFY_MAC")
    c.operation.value = "GetPublicKey"
    assert "<b>UnsupportedOperationException</b>" in c.result.value
    assert "GetPublicKey on HMAC_256 / GENERATE_VERIFY_MAC (HMAC KMS key)" in c.result.value
    c.operation.value = "VerifyMac"
    assert "<b>allowed</b>" in c.result.value


def test_operation_report_of_a_measured_cell_shows_the_aws_message(keys: Any) -> None:
    from kmslab.learn.compare import Cell, Matrix

    meta = keys.meta("ECC_NIST_P256", "SIGN_VERIFY")
    message = f"{meta['Arn']} key usage is SIGN_VERIFY which is not valid for Encrypt."
    cell = Cell(
        "Encrypt",
        "ECC_NIST_P256",
        "SIGN_VERIFY",
        "A-SV",
        False,
        "InvalidKeyUsageException",
        message,
    )
    report = widgets.operation_report(
        Matrix((cell,), "measured"), "Encrypt", "ECC_NIST_P256", "SIGN_VERIFY"
    )
    assert message in report


def test_prediction_exercise_checks_the_ticked_boxes() -> None:
    c = widgets.prediction_exercise("RSA_2048", "SIGN_VERIFY").controls
    assert list(c.boxes) == list(exercises.PREDICTION_OPERATIONS)
    for op in ("Sign", "Verify", "Encrypt"):
        c.boxes[op].value = True
    c.check.click()
    assert "Not yet: 2 of 14" in c.result.value
    assert "Encrypt: not allowed." in c.result.value
    assert "GetPublicKey: allowed" in c.result.value
    c.boxes["Encrypt"].value = False
    c.boxes["GetPublicKey"].value = True
    c.check.click()
    assert "Correct! All 14 answers are right." in c.result.value


def test_prediction_exercise_does_not_reveal_the_answer_to_an_empty_prediction() -> None:
    c = widgets.prediction_exercise("ML_KEM_768", "ENCAPSULATE_DECAPSULATE").controls
    c.check.click()
    assert "Tick the operations" in c.result.value
    assert "Encapsulate" not in c.result.value


def test_every_widget_carries_the_css_that_wraps_its_labels() -> None:
    box = widgets.quiz_widget(exercises.quiz("00"))
    assert widgets.CSS_CLASS in box._dom_classes
    assert ".widget-radio-box label" in box.children[0].value


# -- quiz -------------------------------------------------------------------------------------


@pytest.mark.parametrize("lesson", [*(f"{n:02d}" for n in range(9)), "08b"])
def test_quiz_widget_marks_right_and_wrong_answers(lesson: str) -> None:
    quiz = exercises.quiz(lesson)
    parts = widgets.quiz_widget(quiz).controls.questions
    assert list(parts) == [q.key for q in quiz.questions]
    for q in quiz.questions:
        part = parts[q.key]
        wrong = next(o for o in q.options if o not in q.answer)
        if q.multiple:
            for box in part.choices:
                box.value = box.description == wrong
        else:
            assert part.choice.value is None
            part.choice.value = wrong
        part.check.click()
        assert "Not yet." in part.result.value
        if q.multiple:
            for box in part.choices:
                box.value = box.description in q.answer
        else:
            part.choice.value = next(iter(q.answer))
        part.check.click()
        assert "Correct!" in part.result.value


def test_quiz_widget_without_an_answer() -> None:
    part = widgets.quiz_widget(exercises.quiz(3)).controls.questions["keygen"]
    part.check.click()
    assert "No answer yet." in part.result.value


# -- payload sizes ----------------------------------------------------------------------------


def test_payload_size_explorer_shows_where_encrypt_stops(client: Any, keys: Any) -> None:
    c = widgets.payload_size_explorer(client, keys.id("SYMMETRIC_DEFAULT")).controls
    assert c.size.value == 4096
    assert "Encrypt &rarr; <b>OK</b>" in c.result.value
    c.size.value = 4097
    assert "Encrypt &rarr; <b>ValidationException</b>" in c.result.value
    assert "Member must have length less than or equal to 4096" in c.result.value
    assert "Envelope: one GenerateDataKey call" in c.result.value
    # 4097 payload bytes + 3 + 109-byte data key blob + 12 + 16
    assert "4,237 bytes stored (140 bytes of overhead)" in c.result.value


def test_payload_report_with_a_key_that_cannot_make_data_keys(client: Any, keys: Any) -> None:
    report = widgets.payload_report(client, keys.id("RSA_2048", "ENCRYPT_DECRYPT"), 10)
    assert report.count("InvalidKeyUsageException") == 2  # Encrypt's default algorithm, and seal


# -- signing playground -----------------------------------------------------------------------


def test_signing_playground_options_follow_the_catalogue(client: Any) -> None:
    c = widgets.signing_playground(client).controls
    assert "SM2" not in c.spec.options and "ML_DSA_87" in c.spec.options
    for spec in ("RSA_3072", "ECC_NIST_EDWARDS25519", "ML_DSA_65"):
        c.spec.value = spec
        assert c.algorithm.options == specs.algorithm_names(spec, "SIGN_VERIFY")
        for algorithm in c.algorithm.options:
            c.algorithm.value = algorithm
            expected = specs.get(spec).algorithm(algorithm)
            assert expected is not None
            assert c.message_type.options == expected.message_types


@pytest.mark.parametrize(
    ("spec", "algorithm", "message_type", "sent", "signature"),
    [
        (
            "RSA_2048",
            "RSASSA_PSS_SHA_384",
            "DIGEST",
            "48 bytes (DIGEST)",
            "256 bytes (catalogue: 256)",
        ),
        ("ECC_NIST_EDWARDS25519", "ED25519_PH_SHA_512", "DIGEST", "64 bytes", "64 bytes"),
        ("ML_DSA_44", "ML_DSA_SHAKE_256", "EXTERNAL_MU", "64 bytes (EXTERNAL_MU)", "2420 bytes"),
        ("ECC_NIST_P256", "ECDSA_SHA_256", "RAW", "10 bytes (RAW)", "(catalogue: at most 72)"),
    ],
)
def test_signing_playground_signs_and_verifies(
    local: tuple[LocalKMS, Any],
    spec: str,
    algorithm: str,
    message_type: str,
    sent: str,
    signature: str,
) -> None:
    kms, client = local
    c = widgets.signing_playground(client).controls
    c.spec.value = spec
    c.algorithm.value = algorithm
    c.message_type.value = message_type
    c.sign.click()
    assert sent in c.result.value and signature in c.result.value
    assert "<td>valid</td>" in c.result.value
    c.message.value = "another message"
    c.sign.click()
    assert len(kms.keys) == 1  # one key per spec, made on first use


# -- key states -------------------------------------------------------------------------------


def test_key_state_explorer_walks_the_state_rules(client: Any, fresh_key: Any) -> None:
    meta = fresh_key()
    c = widgets.key_state_explorer(client, meta["KeyId"]).controls
    assert "KeyState is now <b>Enabled</b>" in c.result.value
    steps = [
        ("DisableKey", "Disabled", "DisabledException"),
        ("EnableKey", "Enabled", "Encrypt &rarr; <b>OK</b>"),
        ("ScheduleKeyDeletion", "PendingDeletion", "is pending deletion."),
        ("EnableKey", "PendingDeletion", "KMSInvalidStateException"),
        ("CancelKeyDeletion", "Disabled", "DisabledException"),
        ("CancelKeyDeletion", "Disabled", "is not pending deletion."),
        ("EnableKey", "Enabled", "Encrypt &rarr; <b>OK</b>"),
    ]
    for action, state, shown in steps:
        c.buttons[action].click()
        assert f"KeyState is now <b>{state}</b>" in c.result.value, action
        assert shown in c.result.value, action


# -- timing -----------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def aes_records() -> Any:
    """AES on both layers, in the benchmark's test mode, with the sizes the runner offers."""
    return widgets.run_benchmark("test", ["aes"], [16, 1024, 4096, 1 << 20]).records


def test_run_benchmark_uses_the_sizes_chosen(aes_records: Any) -> None:
    sizes = {r.message_bytes for r in aes_records if r.operation == "encrypt"}
    assert sizes == {16, 1024, 4096, 1 << 20}
    with pytest.raises(ValueError, match="at least one message size"):
        widgets.run_benchmark("test", ["aes"], [])


def test_benchmark_runner_runs_the_families_and_sizes_chosen() -> None:
    c = widgets.benchmark_runner(families=("hmac",)).controls
    assert [f for f, box in c.families.items() if box.value] == ["hmac"]
    assert c.mode.value == "test"
    c.families["aes"].value = True
    c.sizes.value = (256,)
    c.run.click()
    records = c.state.results.records
    assert {r.family for r in records} == {"aes", "hmac"}
    assert {r.message_bytes for r in records if r.family == "aes" and r.operation == "encrypt"} == {
        256
    }
    assert "HMAC_224" in c.table.value and "SYMMETRIC_DEFAULT" in c.table.value
    assert bytes(c.plot.value).startswith(PNG)
    progress_bar, label = c.progress.children
    assert progress_bar.value == progress_bar.max == len(records)
    assert label.value.startswith(f"{len(records)}/{len(records)} ")


def test_benchmark_runner_hides_the_plot_until_it_has_one() -> None:
    # An Image without a value shows the browser's broken-image icon.
    c = widgets.benchmark_runner(families=("hmac",)).controls
    assert c.plot.layout.display == "none"
    c.run.click()
    assert c.plot.layout.display != "none"


def test_benchmark_runner_clears_the_last_run_when_asked_for_nothing() -> None:
    c = widgets.benchmark_runner(families=("hmac",)).controls
    c.run.click()
    c.families["hmac"].value = False
    c.run.click()
    progress_bar, label = c.progress.children
    assert "Choose at least one family." in c.table.value and c.state.results is None
    assert c.plot.layout.display == "none" and progress_bar.value == 0 and label.value == "0/1 "


def test_benchmark_runner_says_when_nothing_was_measurable(monkeypatch) -> None:
    # SM2 needs OpenSSL 3's libcrypto: on a machine without it nothing is measurable, and
    # the runner says so (no stale "12/12" from a past run).
    from kmslab.crypto import sm2

    monkeypatch.setattr(sm2, "available", lambda: False)
    c = widgets.benchmark_runner(families=("hmac",)).controls
    c.run.click()
    c.families["hmac"].value = False
    c.families["sm2"].value = True
    c.run.click()
    progress_bar, label = c.progress.children
    assert progress_bar.value == 0 and "nothing measurable" in label.value


def test_benchmark_runner_needs_a_family_and_a_size() -> None:
    c = widgets.benchmark_runner(families=()).controls
    c.run.click()
    assert "Choose at least one family." in c.table.value and c.state.results is None
    c.families["aes"].value = True
    c.sizes.value = ()
    c.run.click()
    assert "choose at least one message size" in c.table.value


def test_round_trip_explorer(aes_records: Any) -> None:
    c = widgets.round_trip_explorer(aes_records).controls
    assert "<td>Encrypt per record</td><td>10,000</td>" in c.result.value
    assert "<td>GenerateDataKey + local AES-GCM</td><td>1</td>" in c.result.value
    assert bytes(c.plot.value).startswith(PNG)
    before = c.result.value
    c.round_trip_ms.value = 50
    assert c.result.value != before  # ten times the round trip, another estimate
    c.n_records.value = 100  # every power of ten is reachable
    assert "<td>Encrypt per record</td><td>100</td>" in c.result.value
    c.record_bytes.value = 1 << 20
    assert "impossible (Encrypt takes at most 4096 bytes of plaintext)" in c.result.value
