"""AWS clients as the runbook uses them, and AWS failures as one line a person can act on."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ReadTimeoutError,
    TokenRetrievalError,
    WaiterError,
)

# botocore's standard retry mode: exponential backoff with jitter on throttling and transient
# errors, as the AWS CLI v2 uses. Its attempts (3 by default) follow AWS_MAX_ATTEMPTS.
CLIENT_CONFIG = Config(retries={"mode": "standard"}, connect_timeout=5, read_timeout=30)

_ACCESS_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedException"}
_EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "InvalidClientTokenId", "UnrecognizedClientException"}
_THROTTLED = {"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"}


class RunbookError(Exception):
    """A failure to report as one line and a non-zero exit."""


@dataclass(frozen=True)
class WaitPolicy:
    """How long and how often to poll while waiting for AWS (boto3 waiters)."""

    delay_seconds: int = 15
    timeout_minutes: int = 30

    def sleep(self) -> None:
        """One poll interval, for what no boto3 waiter covers."""
        time.sleep(max(self.delay_seconds, 1))

    @property
    def waiter_config(self) -> dict[str, int]:
        delay = max(self.delay_seconds, 1)
        return {"Delay": delay, "MaxAttempts": max(1, self.timeout_minutes * 60 // delay)}


class Aws:
    """One boto3 session (AWS_PROFILE, AWS_ENDPOINT_URL and the rest of the SDK environment apply)."""

    def __init__(self) -> None:
        self.session = boto3.session.Session()
        self._clients: dict[tuple[str, str], Any] = {}

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = self.session.client(service, region_name=region, config=CLIENT_CONFIG)
        return self._clients[key]

    def pages(self, service: str, region: str, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
        """Every item under `key` across all pages of `operation`."""
        for page in self.client(service, region).get_paginator(operation).paginate(**kwargs):
            yield from page.get(key, [])


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def describe(exc: BaseException) -> str:
    """An AWS failure as one line: what failed and what to do about it."""
    if isinstance(exc, ClientError):
        code = error_code(exc)
        operation = exc.operation_name
        message = exc.response.get("Error", {}).get("Message", "")
        if code in _ACCESS_DENIED:
            return f"AWS denied {operation} ({code}): {message}. Use a profile allowed to run it (AWS_PROFILE)."
        if code in _EXPIRED:
            return f"AWS rejected the credentials for {operation} ({code}): refresh them (aws sso login, or new keys)."
        if code in _THROTTLED:
            return f"AWS kept throttling {operation} after retries ({code}): wait a minute and run the command again."
        return f"AWS error in {operation}: {code}: {message}"
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError, TokenRetrievalError)):
        return f"no usable AWS credentials ({exc}): set AWS_PROFILE, or run aws configure / aws sso login."
    if isinstance(exc, NoRegionError):
        return "no AWS region: the environment's config names one; check config/<env>.toml."
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError)):
        return f"cannot reach AWS ({exc}): check the network, or AWS_ENDPOINT_URL if you set it."
    if isinstance(exc, WaiterError):
        return f"gave up waiting: {exc}. Look at the resource in the console, then run the command again."
    if isinstance(exc, BotoCoreError):
        return f"AWS SDK error: {exc}"
    return str(exc)


AWS_ERRORS = (ClientError, BotoCoreError)
