"""The tests synthesize with the same code as `make diff` (review/synth.py)."""

from review.synth import CDK_JSON, ROOT, Synthesis, normalized, synthesize

__all__ = ["CDK_JSON", "ROOT", "Synthesis", "normalized", "synthesize"]
