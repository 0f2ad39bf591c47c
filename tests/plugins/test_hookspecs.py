"""docs/plugin_hooks.md documents every hook in filterforge.plugins.hookspecs and every argument of each."""

from __future__ import annotations

import inspect
import re
import types
from pathlib import Path

import pytest

from filterforge.plugins import hookspecs

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugin_hooks.md"
HEADING = re.compile(r"^### (\w+)\(([^)]*)\)\s*$", re.M)


def hook_signatures(module: types.ModuleType) -> dict[str, list[str]]:
    """Every function the module marks as a hook specification, with its argument names."""
    marker = f"{hookspecs.hookspec.project_name}_spec"
    return {
        name: list(inspect.signature(function).parameters)
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if hasattr(function, marker)
    }


def documented_sections(text: str) -> dict[str, tuple[list[str], str]]:
    """`### hook(a, b)` headings -> (arguments in the heading, the section's text)."""
    sections = {}
    matches = list(HEADING.finditer(text))
    for match, following in zip(matches, matches[1:] + [None]):
        end = following.start() if following else len(text)
        next_heading = re.search(r"^##? ", text[match.end():end], re.M)  # a level-1/2 heading ends it too
        body = text[match.end(): match.end() + next_heading.start()] if next_heading else text[match.end():end]
        arguments = [arg.strip() for arg in match.group(2).split(",") if arg.strip()]
        sections[match.group(1)] = (arguments, body)
    return sections


def undocumented(signatures: dict[str, list[str]], text: str) -> list[str]:
    """What the page lacks: hooks without a `### name(args)` heading, arguments without a bullet."""
    sections = documented_sections(text)
    problems = []
    for hook, arguments in sorted(signatures.items()):
        if hook not in sections:
            problems.append(f"hook {hook}")
            continue
        heading_arguments, body = sections[hook]
        if heading_arguments != arguments:
            problems.append(f"hook {hook}: heading says ({', '.join(heading_arguments)}), spec has ({', '.join(arguments)})")
        for argument in arguments:
            if not re.search(rf"^- `{re.escape(argument)}`", body, re.M):
                problems.append(f"argument {argument} of {hook}")
    return problems


def test_every_hook_and_argument_is_documented():
    signatures = hook_signatures(hookspecs)
    assert len(signatures) >= 7  # the hooks issue 2 asks for: the checker must see them
    assert undocumented(signatures, DOCS.read_text(encoding="utf-8")) == []


def test_no_documented_hook_is_stale():
    documented = set(documented_sections(DOCS.read_text(encoding="utf-8")))
    assert documented <= set(hook_signatures(hookspecs)), "the page documents hooks hookspecs.py does not have"


def test_each_hook_section_says_what_it_returns_and_shows_an_example():
    for hook, (_, body) in documented_sections(DOCS.read_text(encoding="utf-8")).items():
        assert "Returns:" in body, hook
        assert "```python" in body and f"def {hook}(" in body, hook


# The checker itself must be able to fail: a new hook, a new argument or a dropped bullet.

def _spec_module_with(function) -> types.ModuleType:
    module = types.ModuleType("fake_hookspecs")
    setattr(module, function.__name__, hookspecs.hookspec(function))
    return module


def test_checker_reports_a_new_hook():
    def rank_articles(articles, filter_spec):
        """A hook added to hookspecs.py but not to the page."""

    signatures = {**hook_signatures(hookspecs), **hook_signatures(_spec_module_with(rank_articles))}
    assert undocumented(signatures, DOCS.read_text(encoding="utf-8")) == ["hook rank_articles"]


def test_checker_reports_a_new_argument():
    def prefilter_article(article, filter_spec, run_dir):
        """An argument added to an existing hook."""

    signatures = {**hook_signatures(hookspecs), **hook_signatures(_spec_module_with(prefilter_article))}
    problems = undocumented(signatures, DOCS.read_text(encoding="utf-8"))
    assert "argument run_dir of prefilter_article" in problems
    assert any(p.startswith("hook prefilter_article: heading says (article, filter_spec)") for p in problems)


def test_checker_reports_a_missing_argument_bullet():
    text = DOCS.read_text(encoding="utf-8").replace("- `filter_spec` (", "- filter spec (")
    assert undocumented(hook_signatures(hookspecs), text) == ["argument filter_spec of prefilter_article"]


@pytest.mark.parametrize("hook", sorted(hook_signatures(hookspecs)))
def test_checker_reports_a_missing_hook(hook):
    text = re.sub(rf"^### {hook}\(", "### renamed(", DOCS.read_text(encoding="utf-8"), flags=re.M)
    assert f"hook {hook}" in undocumented(hook_signatures(hookspecs), text)
