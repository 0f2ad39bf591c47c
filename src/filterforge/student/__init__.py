"""The student model: transformer body + pooling + head, its savable parts, base-model sources, shared-prefix forward."""
