"""The daily checklist, run in AWS every morning by EventBridge Scheduler (`[alerting]
daily_checklist`): the manual's daily items that need no person, posted to the warning topic.

This file is the Lambda function's whole code: the standard library and the boto3 of the Lambda
runtime, nothing else. Its settings come from the environment, written by the Monitoring stack
from the config and the thresholds table. `statistic` is also what `./scripts/deploy.sh
checklist` reads CloudWatch with, so the two judge the same figures the same way.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

DAY = timedelta(days=1)


def statistic(
    cloudwatch: Any, namespace: str, metric: str, dimensions: dict[str, str], window: timedelta, stat: str, *, end: datetime | None = None
) -> float | None:
    """One statistic of a metric over the whole window ending now (or at `end`), or None without
    data: Sum adds the periods, Minimum and Maximum take the extreme, a percentile the worst."""
    end = end or datetime.now(UTC)
    kwargs: dict[str, Any] = {
        "Namespace": namespace,
        "MetricName": metric,
        "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
        "StartTime": end - window,
        "EndTime": end,
        # CloudWatch takes periods in whole minutes: the window, rounded up.
        "Period": max(60, -(-int(window.total_seconds()) // 60) * 60),
    }
    kwargs["ExtendedStatistics" if stat.startswith("p") else "Statistics"] = [stat]
    points = cloudwatch.get_metric_statistics(**kwargs)["Datapoints"]
    found = [(p.get("ExtendedStatistics") or {}).get(stat) if stat.startswith("p") else p.get(stat) for p in points]
    values = [float(v) for v in found if v is not None]
    if not values:
        return None
    if stat == "Sum":
        return sum(values)
    if stat == "Minimum":
        return min(values)
    if stat == "Average":
        return sum(values) / len(values)
    return max(values)


def error_rate(cloudwatch: Any, load_balancer: str, window: timedelta, *, end: datetime | None = None) -> tuple[float | None, float]:
    """(5XX per request in percent, requests) at the load balancer over the window; None without requests."""
    dims = {"LoadBalancer": load_balancer}
    requests = statistic(cloudwatch, "AWS/ApplicationELB", "RequestCount", dims, window, "Sum", end=end) or 0.0
    errors = statistic(cloudwatch, "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", dims, window, "Sum", end=end) or 0.0
    return (100 * errors / requests if requests else None), requests


def peaks(
    cloudwatch: Any, *, cluster: str, service: str, db_instance: str, limits: dict[str, float], window: timedelta
) -> list[tuple[str, float | None, float]]:
    """(item, peak percent or None, limit) for the service's CPU and memory and the database's CPU."""
    ecs = {"ClusterName": cluster, "ServiceName": service}
    db = {"DBInstanceIdentifier": db_instance}
    rows = (
        ("service CPU", "AWS/ECS", "CPUUtilization", ecs, limits["ecs_cpu"]),
        ("service memory", "AWS/ECS", "MemoryUtilization", ecs, limits["ecs_memory"]),
        ("database CPU", "AWS/RDS", "CPUUtilization", db, limits["db_cpu"]),
    )
    return [
        (label, statistic(cloudwatch, namespace, metric, dims, window, "Maximum"), limit) for label, namespace, metric, dims, limit in rows
    ]


def _health(url: str, timeout: float) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200, f"GET {url} -> {response.status}"
    except urllib.error.HTTPError as exc:
        return False, f"GET {url} -> {exc.code}"
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        return False, f"GET {url} failed: {getattr(exc, 'reason', exc)}"


def checks(settings: dict[str, Any], clients: dict[str, Any]) -> list[tuple[str, bool, str]]:
    """(item, ok, detail) for each daily item the function can check."""
    cw, limits = clients["cloudwatch"], settings["limits"]
    results = [("health endpoint", *_health(settings["health_url"], limits["health_timeout_seconds"]))]
    (service,) = clients["ecs"].describe_services(cluster=settings["cluster"], services=[settings["service"]])["services"] or [{}]
    running = int(service.get("runningCount", 0))
    results.append(("running tasks", running >= limits["min_tasks"], f"{running} running (the manual: at least {limits['min_tasks']:g})"))
    firing = [
        a["AlarmName"]
        for page in clients["cloudwatch"]
        .get_paginator("describe_alarms")
        .paginate(AlarmNamePrefix=settings["alarm_prefix"], StateValue="ALARM")
        for a in page.get("MetricAlarms", []) + page.get("CompositeAlarms", [])
        if a.get("StateValue") == "ALARM"  # as the runbook's check: not every emulator honours the filter
    ]
    results.append(("alarms", not firing, ", ".join(firing) or "none in ALARM"))
    rate, requests = error_rate(cw, settings["load_balancer"], DAY)
    results.append(
        (
            "error rate, 24 h",
            (rate or 0.0) <= limits["error_rate"],
            f"{rate or 0.0:.2f} % of {requests:.0f} requests (alarm above {limits['error_rate']:g} %)",
        )
    )
    for label, peak, limit in peaks(
        cw, cluster=settings["cluster"], service=settings["service"], db_instance=settings["db_instance"], limits=limits, window=DAY
    ):
        results.append(
            (label, peak is not None and peak <= limit, "no data" if peak is None else f"peak {peak:.0f} % (alarm above {limit:g} %)")
        )
    db = {"DBInstanceIdentifier": settings["db_instance"]}
    free = statistic(cw, "AWS/RDS", "FreeStorageSpace", db, DAY, "Minimum")
    gib = None if free is None else free / 2**30
    results.append(
        ("database storage", gib is not None and gib >= limits["db_free_gib"], "no data" if gib is None else f"{gib:.1f} GiB free")
    )
    (instance,) = clients["rds"].describe_db_instances(DBInstanceIdentifier=settings["db_instance"])["DBInstances"]
    latest = instance.get("LatestRestorableTime")
    behind = None if latest is None else (datetime.now(UTC) - latest).total_seconds() / 60
    results.append(
        (
            "backups (RPO)",
            behind is not None and behind <= limits["rpo_minutes"],
            "no restorable time" if behind is None else f"{behind:.0f} min behind (the manual: {limits['rpo_minutes']} min)",
        )
    )
    return results


def run(settings: dict[str, Any], clients: dict[str, Any]) -> dict[str, Any]:
    """Check, then post the result to the warning topic."""
    results = checks(settings, clients)
    failed = [name for name, ok, _ in results if not ok]
    subject = f"{settings['title']} daily checklist: " + (f"FAILED {', '.join(failed)}" if failed else f"all {len(results)} checks passed")
    lines = [f"{'ok  ' if ok else 'FAIL'}  {name}: {detail}" for name, ok, detail in results]
    lines.append(f"The rest of the manual's daily list: ./scripts/deploy.sh checklist daily --env {settings['env']}")
    clients["sns"].publish(TopicArn=settings["topic_arn"], Subject=subject[:100], Message="\n".join(lines))
    return {"ok": not failed, "failed": failed, "checks": len(results)}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """EventBridge Scheduler's call, with the settings the Monitoring stack wrote."""
    import boto3

    clients = {name: boto3.client(name) for name in ("cloudwatch", "ecs", "rds", "sns")}
    return run(json.loads(os.environ["CHECKLIST"]), clients)
