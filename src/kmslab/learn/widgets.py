"""Interactive widgets for the lessons. Each factory returns an ``ipywidgets`` box.

The behaviour lives in plain functions (``spec_options``, ``create_key_report``, ...) that
return HTML; the widgets only wire controls to them and write the result into an ``HTML``
widget. Every box carries its parts as ``box.controls`` (a namespace), so tests drive a
widget without a browser, by setting ``.value`` and calling ``.click()``:

>>> import kmslab
>>> from kmslab import widgets
>>> box = widgets.key_creator(kmslab.client())
>>> box.controls.usage.value = "KEY_AGREEMENT"
>>> box.controls.spec.options[:2]
(('ECC_NIST_P256', 'ECC_NIST_P256'), ('ECC_NIST_P384', 'ECC_NIST_P384'))
>>> box.controls.create.click()
>>> "KEY_AGREEMENT" in box.controls.result.value
True

The widgets of lesson 03 (the benchmark runner, the round-trip explorer) are kept in
:mod:`kmslab.learn.bench_widgets` and offered here too, as are the shared parts
(:mod:`kmslab.learn.widget_parts`, ``CSS_CLASS``). This module imports ipywidgets;
``import kmslab`` does not import it.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from kmslab import specs
from kmslab.learn import envelope, exercises, lesson
from kmslab.learn.bench_widgets import (
    MESSAGE_SIZES,
    RECORD_COUNTS,
    benchmark_runner,
    envelope_report,
    figure_png,
    results_report,
    round_trip_explorer,
    run_benchmark,
)
from kmslab.learn.widget_parts import CSS_CLASS, _box, _button, _note, _result, _row

if TYPE_CHECKING:
    from kmslab.learn.compare import Matrix

__all__ = [
    "CSS_CLASS",
    "MESSAGE_SIZES",
    "RECORD_COUNTS",
    "STATE_ACTIONS",
    "benchmark_runner",
    "create_key_report",
    "envelope_report",
    "figure_png",
    "key_creator",
    "key_state_explorer",
    "key_state_report",
    "operation_explorer",
    "operation_report",
    "payload_report",
    "payload_size_explorer",
    "prediction_exercise",
    "quiz_widget",
    "results_report",
    "round_trip_explorer",
    "run_benchmark",
    "sign_report",
    "signing_playground",
    "signing_specs",
    "spec_options",
]


# -- lesson 01: create a key ----------------------------------------------------------------


def spec_options(usage: str) -> list[tuple[str, str]]:
    """(label, KeySpec) for every spec that allows ``usage``, in catalogue order.

    >>> spec_options("GENERATE_VERIFY_MAC")[0]
    ('HMAC_224', 'HMAC_224')
    >>> spec_options("SIGN_VERIFY")[-1]
    ('SM2 (China Regions only)', 'SM2')
    """
    out = []
    for info in specs.for_usage(usage):
        label = info.name + (" (China Regions only)" if info.regions == "china-only" else "")
        out.append((label, info.name))
    return out


def create_key_report(client: Any, spec: str, usage: str) -> str:
    """Create a key (CreateKey, then DescribeKey) and return its metadata card as HTML, or
    the AWS error."""
    created = lesson.try_call(client.create_key, KeySpec=spec, KeyUsage=usage)
    if not created.ok:
        return created._repr_html_()
    described = lesson.try_call(client.describe_key, KeyId=created.value["KeyMetadata"]["KeyId"])
    if not described.ok:
        return described._repr_html_()
    info = specs.get(spec)
    return lesson.card(described.value)._repr_html_() + _note(info.summary)


def key_creator(client: Any) -> Any:
    """Pick a key usage, then one of the key specs valid for it; create the key and see its
    DescribeKey metadata as a card.

    Controls: ``usage``, ``spec`` (Dropdowns), ``create`` (Button), ``result`` (HTML).
    """
    wide = w.Layout(width="max-content", min_width="320px")  # the longest usage, uncut
    usage = w.Dropdown(
        options=list(specs.KEY_USAGES), value="ENCRYPT_DECRYPT", description="Usage", layout=wide
    )
    spec = w.Dropdown(options=spec_options(usage.value), description="Key spec", layout=wide)
    create = _button("Create key", button_style="primary")
    result = _result()

    def on_usage(change: dict[str, Any]) -> None:
        spec.options = spec_options(change["new"])

    def on_create(_: Any) -> None:
        result.value = create_key_report(client, spec.value, usage.value)

    usage.observe(on_usage, names="value")
    create.on_click(on_create)
    return _box(
        [_row([usage, spec, create]), result],
        usage=usage,
        spec=spec,
        create=create,
        result=result,
    )


# -- lesson 02: the matrix, cell by cell, and a prediction ------------------------------------


def operation_report(matrix: Matrix, operation: str, spec: str, usage: str) -> str:
    """One cell of a comparison matrix as HTML: allowed, or the AWS error and its message."""
    cell = matrix.cell(operation, spec, usage)
    label = f"{operation} on {spec} / {usage} ({specs.AWS_KEY_TYPES[cell.key_type]})"
    if cell.allowed:
        body = "<b>allowed</b>" + (f": {html.escape(cell.message)}" if cell.message else "")
        colour = "#27ae60"
    else:
        message = html.escape(str(cell.message))
        body = f"<b>{html.escape(str(cell.error))}</b><br><code>{message}</code>"
        colour = "#c0392b"
    note = _note(cell.note) if cell.note else ""
    return (
        f'<div style="border-left:4px solid {colour};padding-left:8px">'
        f"{html.escape(label)}<br>{body}</div>{note}"
    )


def operation_explorer(matrix: Matrix) -> Any:
    """Pick a key (KeySpec / KeyUsage) and an operation; see what the matrix recorded.

    With a measured matrix (:func:`kmslab.learn.compare.measured_matrix`) the result is the
    outcome of a real call: the exact AWS error code and message.
    Controls: ``pair``, ``operation`` (Dropdowns), ``result`` (HTML).
    """
    pairs = [(f"{s} / {u} ({specs.key_type(s, u)})", (s, u)) for s, u in matrix.pairs]
    pair = w.Dropdown(options=pairs, description="Key", layout=w.Layout(width="540px"))
    operation = w.Dropdown(options=list(matrix.operations), description="Operation")
    result = _result()

    def update(_: Any = None) -> None:
        spec, usage = pair.value
        result.value = operation_report(matrix, operation.value, spec, usage)

    pair.observe(update, names="value")
    operation.observe(update, names="value")
    update()
    return _box([_row([pair, operation]), result], pair=pair, operation=operation, result=result)


def prediction_exercise(
    spec: str, usage: str, operations: Iterable[str] = exercises.PREDICTION_OPERATIONS
) -> Any:
    """Tick the operations you expect a (KeySpec, KeyUsage) key to allow, then check.

    The check is :func:`kmslab.learn.exercises.check_operations`.
    Controls: ``boxes`` (dict operation -> Checkbox), ``check`` (Button), ``result`` (HTML).
    """
    boxes = {
        op: w.Checkbox(value=False, description=op, indent=False, layout=w.Layout(width="260px"))
        for op in operations
    }
    check = _button("Check my prediction", button_style="primary")
    result = _result()

    def on_check(_: Any) -> None:
        prediction = {op: box.value for op, box in boxes.items()}
        if not any(prediction.values()):
            # Checking an empty prediction would list every allowed operation: the answer.
            result.value = _note("Tick the operations you expect the key to allow, then check.")
            return
        result.value = exercises.check_operations(spec, usage, prediction)._repr_html_()

    check.on_click(on_check)
    title = w.HTML(f"<b>Which operations does a {spec} key with KeyUsage {usage} allow?</b>")
    grid = w.GridBox(
        list(boxes.values()), layout=w.Layout(grid_template_columns="repeat(3, 270px)")
    )
    return _box([title, grid, check, result], boxes=boxes, check=check, result=result)


# -- every lesson: the quiz -----------------------------------------------------------------


def _question_row(number: int, question: exercises.Question) -> tuple[Any, SimpleNamespace]:
    prompt = w.HTML(f"<b>{number}. {html.escape(question.prompt)}</b>")
    result = _result()
    check = _button("Check")
    if question.multiple:
        choices = [w.Checkbox(value=False, description=o, indent=False) for o in question.options]
        control: Any = w.VBox(choices)
        part = SimpleNamespace(choices=choices, check=check, result=result)

        def answer() -> object:
            return [c.description for c in choices if c.value]

    else:
        radio = w.RadioButtons(
            options=list(question.options), value=None, layout=w.Layout(width="100%")
        )
        control = radio
        part = SimpleNamespace(choice=radio, check=check, result=result)

        def answer() -> object:
            return radio.value

    def on_check(_: Any) -> None:
        result.value = question.check(answer())._repr_html_()

    check.on_click(on_check)
    return w.VBox([prompt, control, check, result]), part


def quiz_widget(quiz: exercises.Quiz) -> Any:
    """A quiz as radio buttons (or checkboxes, for "choose all that apply") with a Check
    button per question; feedback from :meth:`kmslab.learn.exercises.Question.check`.

    Controls: ``questions`` (dict key -> namespace of ``choice`` or ``choices``, ``check``,
    ``result``).
    """
    rows = [w.HTML(f"<h4>Quiz {quiz.lesson}: {html.escape(quiz.title)}</h4>")]
    parts: dict[str, SimpleNamespace] = {}
    for number, question in enumerate(quiz.questions, 1):
        row, parts[question.key] = _question_row(number, question)
        rows.append(row)
    return _box(rows, questions=parts)


# -- lesson 04: why Encrypt stops at 4 KiB ----------------------------------------------------


def payload_report(client: Any, key_id: str, size: int) -> str:
    """Encrypt ``size`` bytes directly, and seal them in an envelope; both outcomes as HTML."""
    payload = bytes(size)
    direct = lesson.try_call(client.encrypt, KeyId=key_id, Plaintext=payload)
    sealed = lesson.try_call(envelope.seal, client, key_id, payload)
    lines = [f"<p><b>{size:,} byte{'' if size == 1 else 's'}</b></p>", direct._repr_html_()]
    if sealed.ok:
        env: envelope.Envelope = sealed.value
        lines.append(
            f"<p>Envelope: one GenerateDataKey call; {len(env.to_bytes()):,} bytes stored "
            f"({env.overhead} bytes of overhead).</p>"
        )
    else:
        lines.append(sealed._repr_html_())
    return "".join(lines)


def payload_size_explorer(client: Any, key_id: str, *, max_size: int = 16384) -> Any:
    """A slider of payload sizes: where direct Encrypt stops, and envelope encryption not.

    Controls: ``size`` (IntSlider), ``result`` (HTML).
    """
    size = w.IntSlider(
        value=specs.MAX_MESSAGE_BYTES,
        min=1,
        max=max_size,
        step=1,
        description="Bytes",
        continuous_update=False,
        layout=w.Layout(width="600px"),
    )
    result = _result()

    def update(_: Any = None) -> None:
        result.value = payload_report(client, key_id, size.value)

    size.observe(update, names="value")
    update()
    return _box([size, result], size=size, result=result)


# -- lesson 06: sign and verify ---------------------------------------------------------------


def signing_specs() -> list[str]:
    """The SIGN_VERIFY key specs outside the China Regions (the local KMS signs with them)."""
    return [s.name for s in specs.for_usage("SIGN_VERIFY") if s.regions != "china-only"]


def _message_types(spec: str, algorithm: str) -> list[str]:
    alg = specs.get(spec).algorithm(algorithm, "SIGN_VERIFY")
    return list(alg.message_types) if alg else []


def sign_report(
    client: Any, key_id: str, spec: str, algorithm: str, message_type: str, text: str
) -> str:
    """Sign ``text`` (as the message type asks: itself, its digest, or ML-DSA's mu), verify
    the signature, and compare its size with the catalogue; HTML."""
    alg = specs.get(spec).algorithm(algorithm, "SIGN_VERIFY")
    if alg is None:
        return _note(f"{spec} does not offer {algorithm}.")
    public = None
    if message_type == "EXTERNAL_MU":
        got = lesson.try_call(client.get_public_key, KeyId=key_id)
        if not got.ok:
            return got._repr_html_()
        public = got.value["PublicKey"]
    message = lesson.signing_message(algorithm, message_type, text.encode(), public)
    args = {"KeyId": key_id, "SigningAlgorithm": algorithm, "MessageType": message_type}
    signed = lesson.try_call(client.sign, Message=message, **args)
    if not signed.ok:
        return signed._repr_html_()
    signature = signed.value["Signature"]
    verified = lesson.try_call(client.verify, Message=message, Signature=signature, **args)
    limit = "at most " if algorithm.startswith("ECDSA") else ""
    rows = [
        ("Message sent", f"{len(message)} bytes ({message_type})"),
        ("Signature", f"{len(signature)} bytes (catalogue: {limit}{alg.signature_bytes})"),
        ("Verify", "valid" if verified.ok else str(verified.error_code)),
    ]
    body = "".join(f"<tr><th style='text-align:left'>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def signing_playground(client: Any) -> Any:
    """Choose a signing key spec, an algorithm and a message type; sign, verify, see sizes.

    One key per spec is created on first use. Controls: ``spec``, ``algorithm``,
    ``message_type`` (Dropdowns), ``message`` (Text), ``sign`` (Button), ``result`` (HTML).
    """
    keys: dict[str, str] = {}
    spec = w.Dropdown(options=signing_specs(), value="ECC_NIST_P256", description="Key spec")
    algorithm = w.Dropdown(
        options=specs.algorithm_names(spec.value, "SIGN_VERIFY"), description="Algorithm"
    )
    message_type = w.Dropdown(
        options=_message_types(spec.value, algorithm.value), description="Type"
    )
    message = w.Text(value="hello, KMS", description="Message")
    sign = _button("Sign and verify", button_style="primary")
    result = _result()

    def on_spec(change: dict[str, Any]) -> None:
        algorithm.options = specs.algorithm_names(change["new"], "SIGN_VERIFY")

    def on_algorithm(change: dict[str, Any]) -> None:
        if change["new"] is not None:
            message_type.options = _message_types(spec.value, change["new"])

    def on_sign(_: Any) -> None:
        if spec.value not in keys:
            made = lesson.try_call(client.create_key, KeySpec=spec.value, KeyUsage="SIGN_VERIFY")
            if not made.ok:
                result.value = made._repr_html_()
                return
            keys[spec.value] = made.value["KeyMetadata"]["KeyId"]
        result.value = sign_report(
            client, keys[spec.value], spec.value, algorithm.value, message_type.value, message.value
        )

    spec.observe(on_spec, names="value")
    algorithm.observe(on_algorithm, names="value")
    sign.on_click(on_sign)
    return _box(
        [_row([spec, algorithm, message_type]), _row([message, sign]), result],
        spec=spec,
        algorithm=algorithm,
        message_type=message_type,
        message=message,
        sign=sign,
        result=result,
        keys=keys,
    )


# -- lesson 08: key states --------------------------------------------------------------------

#: The buttons of the key-state explorer: label -> (client method, extra arguments).
STATE_ACTIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "DisableKey": ("disable_key", {}),
    "EnableKey": ("enable_key", {}),
    "ScheduleKeyDeletion": ("schedule_key_deletion", {"PendingWindowInDays": 7}),
    "CancelKeyDeletion": ("cancel_key_deletion", {}),
}


def key_state_report(client: Any, key_id: str, action: str | None = None) -> str:
    """Run one key-state action (a name in :data:`STATE_ACTIONS`, or None), then show the
    key's state and what Encrypt does now; HTML."""
    parts = []
    if action is not None:
        method, extra = STATE_ACTIONS[action]
        parts.append(lesson.try_call(getattr(client, method), KeyId=key_id, **extra)._repr_html_())
    described = lesson.try_call(client.describe_key, KeyId=key_id)
    state = described.value["KeyMetadata"]["KeyState"] if described.ok else "unknown"
    parts.append(f"<p>KeyState is now <b>{html.escape(state)}</b>. Encrypt says:</p>")
    parts.append(
        lesson.try_call(client.encrypt, KeyId=key_id, Plaintext=b"state check")._repr_html_()
    )
    return "".join(parts)


def key_state_explorer(client: Any, key_id: str) -> Any:
    """Buttons that move a key between states, each followed by an Encrypt attempt.

    Controls: ``buttons`` (dict action -> Button), ``result`` (HTML).
    """
    result = _result()
    buttons = {name: _button(name) for name in STATE_ACTIONS}
    for name, button in buttons.items():

        def on_click(_: Any, action: str = name) -> None:
            result.value = key_state_report(client, key_id, action)

        button.on_click(on_click)
    result.value = key_state_report(client, key_id)
    return _box([_row(list(buttons.values())), result], buttons=buttons, result=result)
