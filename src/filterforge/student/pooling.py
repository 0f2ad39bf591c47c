"""Pooling: token states [batch, seq, hidden] + attention mask -> one vector per article."""

from __future__ import annotations

import torch

from filterforge.student.savable import SavableModule


class MeanPooling(SavableModule):
    name = "mean"
    description = "Mean of the real tokens' states (the natural choice for sentence encoders such as MiniLM)."

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        mask = attention_mask[:, -hidden.shape[1] :].unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


class LastTokenPooling(SavableModule):
    name = "last-token"
    description = "State of the last real token (decoders); correct under left or right padding."

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        # The mask may also cover a cached prefix; only its last `seq` columns belong to `hidden`.
        mask = attention_mask[:, -hidden.shape[1] :]
        positions = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
        last = torch.where(mask.bool(), positions, torch.zeros_like(positions)).max(dim=1).values
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]


class CLSPooling(SavableModule):
    name = "cls"
    description = "State of the first token ([CLS] in BERT-style encoders; right padding only)."

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return hidden[:, 0]
