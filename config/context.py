"""The `-c key=value` context keys the app takes, and the check that refuses any other.

A misspelt key would otherwise be ignored: `-c environment=staging` would synthesize production,
and `-c imagetag=1.4.2` would deploy the config file's tag.
"""

from __future__ import annotations

from collections.abc import Iterable

OURS = {
    "env": "the environment, config/<env>.toml (default production)",
    "image-tag": "the release to deploy instead of the file's service.image_tag",
    "dr-mode": "standby (default), active or released: the DR stack's mode",
    "dr-restore": "latest, snapshot:<id> or time:<UTC>: where an active DR stack's database comes from",
    "failback": "detached or replica: the primary database during a failback (./scripts/deploy.sh failback)",
}
# What the cdk CLI and cdk.json put into the context besides ours: the CLI's settings
# (aws:cdk:...), feature flags (@aws-cdk/..., @aws-cdk-containers/...), context-lookup results
# cached in cdk.context.json ("<provider>:account=...:..."), and `cdk acknowledge`'s list.
CDK_PREFIXES = ("aws:cdk:", "@")
CDK_KEYS = {"acknowledged-issue-numbers"}


class ContextError(ValueError):
    """A context key the app does not know; the message is the one line to print."""


def _cdk_owns(key: str) -> bool:
    return key.startswith(CDK_PREFIXES) or key in CDK_KEYS or ":account=" in key


def check_keys(keys: Iterable[str]) -> None:
    """Refuse a key that is neither CDK's nor one of OURS."""
    unknown = sorted(k for k in keys if k not in OURS and not _cdk_owns(k))
    if unknown:
        allowed = ", ".join(OURS)
        raise ContextError(f"-c {unknown[0]}: unknown context key; allowed are {allowed} (and CDK's own aws:cdk:* and @... flags)")
