"""Input strategies turn an article into token ids under a token budget.

The rule that matters most: truncation never removes the article. A strategy lays out
``prefix + article + suffix``; the prefix and suffix (special tokens, the filter prompt, a chat
template) are kept whole and only the article is cut to what is left of ``max_length``.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any, ClassVar, Sequence

from filterforge.errors import FilterforgeError

DEFAULT_MAX_LENGTH = 512
DEFAULT_ARTICLE_BUDGET = 512


@dataclass
class EncodedInput:
    input_ids: list[int]
    prefix_length: int  # leading tokens that are the same for every article
    article_tokens: int  # article tokens kept
    article_tokens_total: int  # article tokens before truncation

    @property
    def truncated(self) -> bool:
        return self.article_tokens < self.article_tokens_total


def article_text(article: dict) -> str:
    title = (article.get("title") or "").strip()
    content = (article.get("content") or "").strip()
    return f"{title}\n\n{content}" if title and content else (title or content)


def model_context_window(config: Any) -> int | None:
    for key in ("max_position_embeddings", "n_positions", "max_sequence_length"):
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


class Strategy:
    """Base class. Subclasses set ``name``/``description`` and override :meth:`template` or :meth:`truncate`."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: True when the prefix is identical for every article (a prompt) and may be computed once per batch.
    shares_prefix: ClassVar[bool] = False
    #: True when the input carries the filter's prompt (the seed's ``include_prompt``).
    uses_prompt: ClassVar[bool] = False
    #: Options accepted through ``--strategy-option key=value`` with their defaults.
    options: ClassVar[dict[str, Any]] = {}

    def __init__(self, filter_spec: Any, tokenizer: Any, options: dict[str, Any] | None = None):
        self.filter_spec = filter_spec
        self.tokenizer = tokenizer
        self.settings = dict(self.options)
        for key, value in (options or {}).items():
            if key not in self.options:
                known = ", ".join(sorted(self.options)) or "none"
                raise FilterforgeError(f"strategy '{self.name}' has no option '{key}' (options: {known})")
            try:
                self.settings[key] = type(self.options[key])(value)
            except (TypeError, ValueError):
                kind = type(self.options[key]).__name__
                raise FilterforgeError(f"strategy '{self.name}' option '{key}' expects {kind}, got {value!r}") from None
        self._template: tuple[list[int], list[int]] | None = None

    # -- layout -----------------------------------------------------------------------------
    def template(self) -> tuple[list[int], list[int]]:
        """Token ids before and after the article. Default: the tokenizer's special tokens."""
        return special_token_frame(self.tokenizer)

    def frame(self) -> tuple[list[int], list[int]]:
        if self._template is None:
            self._template = self.template()
        return self._template

    @property
    def fixed_tokens(self) -> int:
        prefix, suffix = self.frame()
        return len(prefix) + len(suffix)

    def default_max_length(self, context_window: int | None) -> int:
        wanted = DEFAULT_MAX_LENGTH
        return min(wanted, context_window) if context_window else wanted

    def check_budget(self, max_length: int, min_article_tokens: int, context_window: int | None = None) -> None:
        if context_window and max_length > context_window:
            raise FilterforgeError(
                f"--max-length {max_length} exceeds the model's context window of {context_window} tokens"
            )
        budget = max_length - self.fixed_tokens
        if budget < min_article_tokens:
            needed = self.fixed_tokens + min_article_tokens
            hint = f"use --max-length >= {needed}"
            if context_window and needed > context_window:
                hint = f"the model's context window ({context_window}) cannot hold both; use a shorter prompt or a model with a longer context"
            raise FilterforgeError(
                f"strategy '{self.name}': the prompt/template takes {self.fixed_tokens} tokens, so "
                f"--max-length {max_length} leaves {max(budget, 0)} article tokens "
                f"(< --min-article-tokens {min_article_tokens}); {hint}"
            )

    # -- encoding ---------------------------------------------------------------------------
    def article_ids(self, article: dict) -> list[int]:
        return self.tokenizer(article_text(article), add_special_tokens=False, verbose=False)["input_ids"]

    def truncate(self, ids: list[int], budget: int) -> list[int]:
        """Cut the article to `budget` tokens. Default: keep the beginning."""
        return ids[:budget]

    def encode(self, article: dict, max_length: int) -> EncodedInput:
        prefix, suffix = self.frame()
        ids = self.article_ids(article)
        kept = self.truncate(ids, max_length - len(prefix) - len(suffix)) if len(ids) + len(prefix) + len(suffix) > max_length else ids
        return EncodedInput(prefix + kept + suffix, len(prefix) if self.shares_prefix else 0, len(kept), len(ids))


def special_token_frame(tokenizer: Any, first_text: str | None = None) -> tuple[list[int], list[int]]:
    """Split the tokenizer's own special-token layout around the article, e.g. BERT's [CLS] a [SEP].

    With ``first_text`` (a prompt) the layout is the pair form, e.g. [CLS] prompt [SEP] article [SEP].
    Probing the real tokenizer (rather than build_inputs_with_special_tokens, which fast tokenizers
    do not always implement) keeps this right for any post-processor."""
    probe = "a"
    core = tokenizer(probe, add_special_tokens=False, verbose=False)["input_ids"]
    if first_text is None:
        full = tokenizer(probe, verbose=False)["input_ids"]
    else:
        full = tokenizer(first_text, probe, verbose=False)["input_ids"]
    for start in range(len(full) - len(core), -1, -1):
        if full[start : start + len(core)] == core:
            return list(full[:start]), list(full[start + len(core) :])
    raise FilterforgeError(f"cannot find where the article goes in {type(tokenizer).__name__}'s layout")


def budget_statistics(encoded: Sequence[EncodedInput], prompt_tokens: int) -> dict[str, Any]:
    """What the metadata records so that a run whose inputs lost the article is obvious."""
    kept = [e.article_tokens for e in encoded] or [0]
    return {
        "prompt_tokens": prompt_tokens,
        "articles": len(encoded),
        "article_tokens_kept_mean": round(statistics.fmean(kept), 2),
        "article_tokens_kept_median": statistics.median(kept),
        "article_tokens_kept_min": min(kept),
        "article_tokens_kept_max": max(kept),
        "share_truncated": round(sum(e.truncated for e in encoded) / max(len(encoded), 1), 4),
    }
