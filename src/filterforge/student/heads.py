"""Regression heads: pooled vector -> one score per filter dimension (unclamped; inference clamps)."""

from __future__ import annotations

from typing import Any

import torch

from filterforge.student.savable import SavableModule


class RegressionHead(SavableModule):
    name = "regression"
    description = "Dropout + one linear layer, one output per filter dimension."

    def __init__(self, hidden_size: int, num_outputs: int, dropout: float = 0.1):
        super().__init__()
        self.hidden_size, self.num_outputs, self.dropout_p = hidden_size, num_outputs, dropout
        self.dropout = torch.nn.Dropout(dropout)
        self.linear = torch.nn.Linear(hidden_size, num_outputs)

    def config(self) -> dict[str, Any]:
        return {"hidden_size": self.hidden_size, "num_outputs": self.num_outputs, "dropout": self.dropout_p}

    def set_output_bias(self, means: torch.Tensor) -> None:
        """Start from the mean predictor: zero-ish weights, bias = the training labels' means."""
        with torch.no_grad():
            self.output_layer().bias.copy_(means)
            self.output_layer().weight.mul_(0.1)

    def output_layer(self) -> torch.nn.Linear:
        return self.linear

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.linear(self.dropout(pooled))


class MLPHead(RegressionHead):
    name = "mlp"
    description = "Dropout + linear + GELU + linear: a small non-linear head, one output per dimension."

    def __init__(self, hidden_size: int, num_outputs: int, dropout: float = 0.1):
        super().__init__(hidden_size, num_outputs, dropout)
        self.hidden = torch.nn.Linear(hidden_size, hidden_size)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.linear(self.dropout(torch.nn.functional.gelu(self.hidden(self.dropout(pooled)))))
