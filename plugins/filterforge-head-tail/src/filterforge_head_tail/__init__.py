"""filterforge-head-tail: an input strategy that keeps the beginning and the end of long articles.

News articles put the news in the first paragraphs and the conclusion (the outlook, the "what it
means") in the last ones; cutting only the tail, as the built-in `distillation` strategy does, loses
the conclusion. `head-tail` keeps the first ``head_tokens`` article tokens and fills the rest of the
budget from the end of the article.

This is the template for filterforge plugins: one module, one hook implementation, found by
filterforge through the ``filterforge`` entry point in pyproject.toml.
"""

from __future__ import annotations

from typing import Any

from filterforge import FilterforgeError, Strategy, hookimpl

__version__ = "0.1.0"


class HeadTail(Strategy):
    # `name` is what users pass to `--strategy`; `description` is the line `filterforge strategies` prints.
    name = "head-tail"
    description = "Title + content; long articles keep their first head_tokens and their last tokens (the rest of the budget)."
    # Defaults for `--strategy-option key=value`. Values given on the command line are converted to
    # the default's type (int here), and a run's metadata records the settings so that prediction
    # rebuilds the same strategy.
    options = {"head_tokens": 128}

    def __init__(self, filter_spec: Any, tokenizer: Any, options: dict[str, Any] | None = None):
        super().__init__(filter_spec, tokenizer, options)
        if self.settings["head_tokens"] < 0:
            raise FilterforgeError(f"strategy '{self.name}': head_tokens must be >= 0, got {self.settings['head_tokens']}")

    # The template (special tokens around the article) is inherited: [CLS] article [SEP] for BERT.
    # filterforge calls `truncate` only for articles that do not fit, with `budget` = the article
    # tokens left after the template; the template itself is never cut.
    def truncate(self, ids: list[int], budget: int) -> list[int]:
        if len(ids) <= budget:
            return ids
        head = min(self.settings["head_tokens"], budget)
        tail = budget - head
        # ids[-0:] would be the whole list, hence the explicit check.
        return ids[:head] + (ids[-tail:] if tail > 0 else [])


@hookimpl
def register_strategies(register: Any) -> None:
    register(HeadTail)
