"""One request decided as AWS documents it, offline.

Sources: IAM User Guide, "Policy evaluation logic" (an explicit deny in any policy wins; within
one account an allow in the identity policy or in the resource policy suffices) and "IAM JSON
policy elements: Condition operators"; AWS KMS Developer Guide, "Key policies" (a key policy is
always needed: it allows the principal itself, or it allows the account and so delegates to IAM,
whose policy must then allow too).

No maintained offline evaluator was found on the package index (the closest, moto's
`IAMPolicyStatement`, treats an unmet condition as a deny, ignores every operator but
StringEquals and does not escape a pattern's regular-expression characters): this is ours,
small, and it refuses what it does not know (`UnsupportedError`) instead of guessing. Not modelled:
permissions boundaries, service control and session policies, `NotPrincipal`, numeric and date
operators, policy variables (`${aws:username}`), and cross-account access (every request here
stays in one account).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

Document = Mapping[str, Any]
Context = Mapping[str, str | Sequence[str]]


class UnsupportedError(ValueError):
    """A policy uses something this evaluator does not model; it must not guess an answer."""


@dataclass(frozen=True)
class Request:
    """`principal` is a role's ARN or a service principal (`logs.us-west-2.amazonaws.com`)."""

    principal: str
    action: str
    resource: str
    context: Context = field(default_factory=dict)

    @property
    def is_service(self) -> bool:
        return not self.principal.startswith("arn:")


@dataclass(frozen=True)
class Source:
    """Where a policy document sits: a resource of a stack and the path to the document in it."""

    stack: str
    logical_id: str
    path: tuple[str | int, ...]


@dataclass(frozen=True)
class Grant:
    """One statement's pattern that allowed a request: what a mutation removes."""

    source: Source
    statement: int
    pattern: str | None  # the Action entry; None when the whole document is one managed policy


@dataclass(frozen=True)
class Policy:
    document: Document
    source: Source
    managed: bool = False  # an AWS managed policy attached by ARN


@dataclass
class Outcome:
    effect: str  # "Allow", "Deny", or "" (no statement applies)
    grants: list[Grant] = field(default_factory=list)


@lru_cache(maxsize=4096)
def _pattern(glob: str, case_sensitive: bool) -> re.Pattern[str]:
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in glob)
    return re.compile(f"^{body}$", 0 if case_sensitive else re.IGNORECASE)


def matches(glob: str, value: str, *, case_sensitive: bool = True) -> bool:
    """IAM's wildcards: `*` any run of characters, `?` one character."""
    if "${" in glob:
        raise UnsupportedError(f"policy variables are not modelled: {glob}")
    return bool(_pattern(glob, case_sensitive).match(value))


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _principal_matches(principal: Any, request: Request, account: str) -> tuple[bool, bool]:
    """(matches, through the account): an account principal delegates to the caller's IAM policy."""
    if principal == "*":
        return True, False
    if not isinstance(principal, Mapping):
        raise UnsupportedError(f"principal {principal!r}")
    unknown = set(principal) - {"AWS", "Service"}
    if unknown:
        raise UnsupportedError(f"principal kinds {sorted(unknown)}")
    if request.is_service:
        services = _listed(principal.get("Service", []))
        return ("*" in _listed(principal.get("AWS", [])) or request.principal in services), False
    for entry in _listed(principal.get("AWS", [])):
        if entry == "*" or entry == request.principal:
            return True, False
        if entry in (account, f"arn:aws:iam::{account}:root"):
            return True, True
    return False, False


_OPERATORS: dict[str, Callable[[Any, str], bool]] = {
    "StringEquals": lambda pattern, value: pattern == value,
    "StringEqualsIgnoreCase": lambda pattern, value: pattern.lower() == value.lower(),
    "StringLike": lambda pattern, value: matches(pattern, value),
    "ArnEquals": lambda pattern, value: matches(pattern, value),
    "ArnLike": lambda pattern, value: matches(pattern, value),
    "Bool": lambda pattern, value: str(pattern).lower() == str(value).lower(),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def _condition_holds(operator: str, key: str, expected: Any, context: Context) -> bool:
    """One operator on one key, as the Condition operators page describes it, qualifiers included."""
    qualifier, _, operator = operator.rpartition(":")
    if_exists = operator.endswith("IfExists")
    operator = operator.removesuffix("IfExists")
    if operator == "Null":
        return (key not in context) == (str(expected).lower() == "true")
    negated = operator in _NEGATED
    test = _OPERATORS.get(_NEGATED.get(operator, operator))
    if test is None or qualifier not in ("", "ForAnyValue", "ForAllValues"):
        raise UnsupportedError(f"condition operator {qualifier + ':' if qualifier else ''}{operator}")
    if key not in context:
        # Absent key: false for a matching operator, true for a negated one, true with IfExists.
        return if_exists or negated or qualifier == "ForAllValues"
    values = [str(v) for v in _listed(context[key])]
    patterns = [str(p) for p in _listed(expected)]

    def one(value: str) -> bool:
        hit = any(test(pattern, value) for pattern in patterns)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(one(value) for value in values)
    if qualifier == "ForAnyValue" or len(values) == 1:
        return any(one(value) for value in values)
    raise UnsupportedError(f"{operator} on the multivalued key {key} needs ForAnyValue or ForAllValues")


def _conditions_hold(statement: Document, context: Context) -> bool:
    return all(
        _condition_holds(operator, key, expected, context)
        for operator, keys in statement.get("Condition", {}).items()
        for key, expected in keys.items()
    )


def _action_patterns(statement: Document, action: str) -> list[str] | None:
    """The Action entries that name `action`; None when the statement does not cover it."""
    if "NotAction" in statement:
        hit = any(matches(p, action, case_sensitive=False) for p in _listed(statement["NotAction"]))
        return None if hit else ["<NotAction>"]
    found = [p for p in _listed(statement.get("Action", [])) if matches(p, action, case_sensitive=False)]
    return found or None


def _resource_covered(statement: Document, resource: str) -> bool:
    if "NotResource" in statement:
        return not any(matches(p, resource) for p in _listed(statement["NotResource"]))
    if "Resource" not in statement:  # a trust policy's statements name no resource
        return True
    return any(matches(p, resource) for p in _listed(statement["Resource"]))


def evaluate(policy: Policy, request: Request, *, account: str, resource_policy: bool) -> tuple[Outcome, bool]:
    """The policy's own verdict on the request, and whether its allow came through the account
    principal (a delegation that the caller's identity policy must confirm)."""
    outcome = Outcome("")
    delegated_only = True
    for index, statement in enumerate(_listed(policy.document.get("Statement", []))):
        if "NotPrincipal" in statement:
            raise UnsupportedError("NotPrincipal")
        patterns = _action_patterns(statement, request.action)
        if patterns is None or not _resource_covered(statement, request.resource):
            continue
        through_account = False
        if resource_policy:
            hit, through_account = _principal_matches(statement.get("Principal"), request, account)
            if not hit:
                continue
        if not _conditions_hold(statement, request.context):
            continue
        if statement["Effect"] == "Deny":
            return Outcome("Deny"), False
        outcome.effect = "Allow"
        delegated_only = delegated_only and through_account
        outcome.grants += [Grant(policy.source, index, None if policy.managed else p) for p in patterns]
    return outcome, outcome.effect == "Allow" and delegated_only


@dataclass
class Decision:
    allowed: bool
    reason: str
    grants: list[Grant] = field(default_factory=list)


def decide(request: Request, identity: Iterable[Policy], resource: Policy | None, *, account: str, key_policy: bool = False) -> Decision:
    """Allow or deny as AWS does for a request inside one account.

    `identity` are the caller's identity policies (none for a service principal); `resource` the
    resource's own policy. With `key_policy` (KMS), the key policy must allow: the principal
    directly, or the account, and then an identity policy must allow as well."""
    identity_grants: list[Grant] = []
    for policy in [] if request.is_service else identity:
        outcome, _ = evaluate(policy, request, account=account, resource_policy=False)
        if outcome.effect == "Deny":
            return Decision(False, f"explicitly denied by {policy.source.logical_id}")
        identity_grants += outcome.grants
    resource_outcome, delegated = Outcome(""), False
    if resource is not None:
        resource_outcome, delegated = evaluate(resource, request, account=account, resource_policy=True)
        if resource_outcome.effect == "Deny":
            return Decision(False, f"explicitly denied by the policy of {resource.source.logical_id}")
    if key_policy:
        if resource_outcome.effect != "Allow":
            return Decision(False, "the key policy allows neither the caller nor the account")
        if not delegated:
            return Decision(True, "the key policy allows the caller", resource_outcome.grants)
        if identity_grants:
            return Decision(True, "the key policy delegates to IAM, and IAM allows", identity_grants + resource_outcome.grants)
        return Decision(False, "the key policy delegates to IAM, and no identity policy allows it")
    if resource_outcome.effect == "Allow" and not delegated:
        return Decision(True, "the resource policy allows the caller", resource_outcome.grants + identity_grants)
    if identity_grants:
        return Decision(True, "an identity policy allows it", identity_grants)
    if request.is_service:
        return Decision(False, "no resource policy names the service")
    return Decision(False, "no identity policy allows it")
