"""From article to token ids: input strategies (what the model reads, within a token budget) and batching."""
