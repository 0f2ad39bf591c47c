"""Training: `TrainConfig` (every default), the `Trainer` loop, resumable checkpoints, the outputs a run writes."""
