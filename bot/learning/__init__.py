"""Learning from real conversations (issue 14): capture turns the assistant may have misunderstood,
let staff label them, export the labels as NLU training data and keep them classified right.

- rules: pure decisions (which turn is captured and why; how messages group) — unit-tested without I/O
- capture: the off-the-hot-path hook Rasa's channel guard calls after each turn
- store: the qhd_learning_items table (masked text, review labels, 👍/👎 votes)
- reviewed: the data/nlu/reviewed/ files, read by export and regression
- export: `python -m bot nlu export-reviewed` -> data/nlu/reviewed/
- regression: every reviewed message (except hard ones) must be classified as labelled
"""
