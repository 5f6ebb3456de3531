"""The tests synthesize with the same code as `make diff` (review/synth.py)."""

from typing import Any

from review.synth import CDK_JSON, ROOT, Synthesis, normalized, synthesize

__all__ = ["CDK_JSON", "ROOT", "Synthesis", "normalized", "stack_outputs", "synthesize"]


def stack_outputs(node: Any) -> list[dict[str, Any]]:
    """Every `Fn::GetStackOutput` under `node`: another stack's output it reads."""
    if isinstance(node, dict):
        if "Fn::GetStackOutput" in node:
            return [node["Fn::GetStackOutput"]]
        return [found for value in node.values() for found in stack_outputs(value)]
    if isinstance(node, list):
        return [found for value in node for found in stack_outputs(value)]
    return []
