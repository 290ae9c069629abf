"""The learning tools on top of the local KMS: what the lessons import.

- :mod:`~kmslab.learn.compare` and :mod:`~kmslab.learn.measure`: the operations matrix,
  derived from the rules and measured on a local KMS;
- :mod:`~kmslab.learn.choose` (which key spec fits) and :mod:`~kmslab.learn.identify`
  (a key's type from its metadata);
- :mod:`~kmslab.learn.envelope`: envelope encryption with data keys;
- :mod:`~kmslab.learn.lesson`: helpers the notebooks call (cards, try_call, openssl);
- :mod:`~kmslab.learn.widgets`: ipywidgets factories that return the widget (lesson 03's
  in :mod:`~kmslab.learn.bench_widgets`, their shared parts in
  :mod:`~kmslab.learn.widget_parts`);
- :mod:`~kmslab.learn.explain`: ``kmslab.explain``, with the guides of
  :mod:`~kmslab.learn.guides` (one per fidelity-ledger row);
- :mod:`~kmslab.learn.exercises`: self-checks with specific feedback (a
  :class:`~kmslab.learn.feedback.CheckResult`), and the quizzes of
  :mod:`~kmslab.learn.quiz`, read from one data file per lesson (``quizzes/NN.toml``).

May import :mod:`kmslab.bench`, the adapters (:mod:`kmslab.target`), :mod:`kmslab.kms`,
:mod:`kmslab.crypto` and the catalogue. Heavy libraries (matplotlib, ipywidgets, boto3) are
imported inside the functions that need them.
"""
