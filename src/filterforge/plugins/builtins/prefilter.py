"""Built-in prefilter: articles with no text never reach the model."""

from __future__ import annotations

from typing import Any, Optional

from filterforge.plugins.hookspecs import hookimpl

MIN_CHARACTERS = 20


@hookimpl(trylast=True)
def prefilter_article(article: dict, filter_spec: Any) -> Optional[str]:
    text = f"{article.get('title') or ''} {article.get('content') or ''}".strip()
    if len(text) < MIN_CHARACTERS:
        return f"too little text ({len(text)} characters < {MIN_CHARACTERS})"
    return None
