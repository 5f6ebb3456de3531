"""Reviewer tooling: the offline template diff behind `make diff`."""
