"""Built-in input strategies: `distillation` (article only) and `instruction` (filter prompt + article)."""

from __future__ import annotations

from typing import Any

from filterforge.plugins.hookspecs import hookimpl
from filterforge.encoding.strategies import DEFAULT_ARTICLE_BUDGET, Strategy, special_token_frame

_ARTICLE_SLOT = "\u2063FILTERFORGE_ARTICLE\u2063"


class Distillation(Strategy):
    name = "distillation"
    description = "Title + content only; the model learns the oracle's scores without seeing the prompt."


class Instruction(Strategy):
    name = "instruction"
    description = "The filter's prompt.md + title + content (through the chat template when the model has one)."
    shares_prefix = True
    uses_prompt = True

    def template(self) -> tuple[list[int], list[int]]:
        prompt = self.filter_spec.prompt().strip()
        tokenizer = self.tokenizer
        if getattr(tokenizer, "chat_template", None):
            text = tokenizer.apply_chat_template(
                [{"role": "system", "content": prompt}, {"role": "user", "content": _ARTICLE_SLOT}],
                tokenize=False,
                add_generation_prompt=True,
            )
            before, after = text.split(_ARTICLE_SLOT)
            encode = lambda part: tokenizer(part, add_special_tokens=False, verbose=False)["input_ids"]  # noqa: E731
            return encode(before), encode(after)
        return special_token_frame(tokenizer, first_text=prompt)

    def default_max_length(self, context_window: int | None) -> int:
        wanted = self.fixed_tokens + DEFAULT_ARTICLE_BUDGET
        return min(wanted, context_window) if context_window else wanted


@hookimpl
def register_strategies(register: Any) -> None:
    register(Distillation)
    register(Instruction)
