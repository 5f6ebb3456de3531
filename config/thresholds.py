"""The operations manual's numbers, each once, with the line it comes from.

Alarms, autoscaling limits, dashboard annotations and the README's alarm table all read
`THRESHOLDS` (the alarms and dashboards through the catalogue, `stacks/catalogue.py`); nothing
else writes one of these numbers. Where the manual names a check but no number, the number is
ours and `manual` says so.
"""

from __future__ import annotations

from cdk_constructs.threshold import Comparison, MissingData, Severity, Statistic, Threshold

_NO_TRAFFIC = "no requests means nothing is failing or slow"
_NO_EVENTS = "the pattern not appearing in the logs is the healthy case"

# Disaster Recovery > Recovery Point Objectives (RPO): "Database: 15 minutes (continuous backups)".
# The runbook's `backups` and `dr-readiness` measure what the backups or the replica give against it.
RPO_DATABASE_MINUTES = 15
# Disaster Recovery > Recovery Time Objectives (RTO): "Database Recovery: 2 hours". The runbook's
# `backups` holds the monthly restore test's measured time against it.
RTO_DATABASE_MINUTES = 120
# Disaster Recovery > Recovery Time Objectives (RTO): "Application Recovery: 30 minutes". The
# runbook's `game-day` holds the service's recovery from a lost task or zone against it.
RTO_APPLICATION_MINUTES = 30

THRESHOLDS: dict[str, Threshold] = {
    # --- Key Metrics to Monitor > Application Metrics -------------------------------------
    "api-p95-latency": Threshold(
        value=2, unit="seconds", comparison=Comparison.ABOVE, severity=Severity.WARNING,
        manual='Key Metrics to Monitor: "API Response Time: < 2 seconds (95th percentile)"',
        runbook="Troubleshooting Guide > High Response Times",
        statistic=Statistic.P95, period_minutes=1, evaluation_periods=5, datapoints_to_alarm=3,
        missing_data=MissingData.NOT_BREACHING, why_missing=_NO_TRAFFIC,
    ),
    "api-error-rate": Threshold(
        value=1, unit="percent", comparison=Comparison.ABOVE, severity=Severity.WARNING,
        manual='Key Metrics to Monitor: "Error Rate: < 1% of total requests"',
        runbook="Incident Response > Common Incident Types > High Error Rate",
        statistic=Statistic.SUM, period_minutes=1, evaluation_periods=5, datapoints_to_alarm=3,
        missing_data=MissingData.NOT_BREACHING, why_missing=_NO_TRAFFIC,
    ),
    "api-error-rate-critical": Threshold(
        value=5, unit="percent", comparison=Comparison.ABOVE, severity=Severity.CRITICAL,
        manual='Severity Levels, P1: "High error rates (>5%)"',
        runbook="Incident Response > Common Incident Types > High Error Rate",
        statistic=Statistic.SUM, period_minutes=1, evaluation_periods=5, datapoints_to_alarm=3,
        missing_data=MissingData.NOT_BREACHING, why_missing=_NO_TRAFFIC,
    ),
    "request-throughput": Threshold(
        value=2, unit="std dev", comparison=Comparison.OUTSIDE_BAND, severity=Severity.WARNING,
        manual='Key Metrics to Monitor: "Request Throughput: Baseline ~10-50 requests/minute"',
        runbook="Incident Response > Assessment (identify affected components)",
        statistic=Statistic.SUM, period_minutes=5, evaluation_periods=3, datapoints_to_alarm=3,
        missing_data=MissingData.NOT_BREACHING,
        why_missing="the anomaly band learns the daily pattern, so a quiet night is inside it",
    ),
    "running-tasks": Threshold(
        value=2, unit="count", comparison=Comparison.BELOW, severity=Severity.CRITICAL,
        manual='Key Metrics to Monitor: "Active ECS Tasks: >= 2 running tasks"',
        runbook="Incident Response > Common Incident Types > Service Unavailable",
        statistic=Statistic.MINIMUM, period_minutes=1, evaluation_periods=3, datapoints_to_alarm=3,
        missing_data=MissingData.BREACHING, why_missing="no task reports when none is running",
    ),
    # --- Key Metrics to Monitor > Infrastructure Metrics ----------------------------------
    "unhealthy-targets": Threshold(
        value=0, unit="count", comparison=Comparison.ABOVE, severity=Severity.WARNING,
        manual='Key Metrics to Monitor: "Load Balancer Health: All targets healthy"',
        runbook="Troubleshooting Guide > \"Service Unavailable\" Error",
        statistic=Statistic.MAXIMUM, period_minutes=1, evaluation_periods=3, datapoints_to_alarm=3,
        missing_data=MissingData.NOT_BREACHING, why_missing="no target registered yet is not an unhealthy one",
    ),
    "no-healthy-targets": Threshold(
        value=1, unit="count", comparison=Comparison.BELOW, severity=Severity.CRITICAL,
        manual='Severity Levels, P0: "Complete service outage" (no healthy target behind the ALB)',
        runbook="Incident Response > Common Incident Types > Service Unavailable",
        statistic=Statistic.MINIMUM, period_minutes=1, evaluation_periods=2, datapoints_to_alarm=2,
        missing_data=MissingData.BREACHING, why_missing="the ALB reports no healthy count when nothing is registered",
    ),
    "ecs-cpu": Threshold(
        value=70, unit="percent", comparison=Comparison.ABOVE, severity=Severity.WARNING,
        manual='Key Metrics to Monitor: "ECS CPU/Memory: < 70% utilization"',
        runbook="Incident Response > Mitigation Actions (scale up)",
        statistic=Statistic.AVERAGE, period_minutes=5, evaluation_periods=3, datapoints_to_alarm=3,
        missing_data=MissingData.MISSING, why_missing="no data means no tasks, which running-tasks reports",
    ),
    "ecs-memory": Threshold(
        value=70, unit="percent", comparison=Comparison.ABOVE, severity=Severity.WARNING,
        manual='Key Metrics to Monitor: "ECS CPU/Memory: < 70% utilization"',
        runbook="Incident Response > Mitigation Actions (scale up)",
        statistic=Statistic.AVERAGE, period_minutes=5, evaluation_periods=3, datapoints_to_alarm=3,
        missing_data=MissingData.MISSING, why_missing="no data means no tasks, which running-tasks reports",
    ),
    "db-cpu": Threshold(
        value=80, unit="percent", comparison=Comparison.ABOVE, severity=Severity.WARNING,
        manual='Key Metrics to Monitor: "Database CPU: < 80% utilization"',
        runbook="Troubleshooting Guide > High Response Times",
        statistic=Statistic.AVERAGE, period_minutes=5, evaluation_periods=3, datapoints_to_alarm=3,
        missing_data=MissingData.MISSING, why_missing="RDS always reports; a gap is RDS's, not the database's",
    ),
    "db-connections": Threshold(
        value=15, unit="count", comparison=Comparison.AT_OR_ABOVE, severity=Severity.WARNING,
        manual='Key Metrics to Monitor: "Database Connections: < 15 active connections"',
        runbook="Troubleshooting Guide > Database Connection Issues",
        statistic=Statistic.MAXIMUM, period_minutes=5, evaluation_periods=2, datapoints_to_alarm=2,
        missing_data=MissingData.MISSING, why_missing="RDS always reports; a gap is RDS's, not the database's",
    ),
    "db-free-storage": Threshold(
        value=5, unit="GiB", comparison=Comparison.BELOW, severity=Severity.WARNING,
        manual='Database Issues: "Storage: Verify available disk space" (no number in the manual: 5 GiB is ours)',
        runbook="Incident Response > Common Incident Types > Database Issues",
        statistic=Statistic.MINIMUM, period_minutes=5, evaluation_periods=1, datapoints_to_alarm=1,
        missing_data=MissingData.MISSING, why_missing="RDS always reports; a gap is RDS's, not the database's",
    ),
    "db-free-storage-critical": Threshold(
        value=2, unit="GiB", comparison=Comparison.BELOW, severity=Severity.CRITICAL,
        manual='Severity Levels, P0: "Database failure" is near when storage runs out (2 GiB is ours)',
        runbook="Incident Response > Common Incident Types > Database Issues",
        statistic=Statistic.MINIMUM, period_minutes=5, evaluation_periods=1, datapoints_to_alarm=1,
        missing_data=MissingData.MISSING, why_missing="RDS always reports; a gap is RDS's, not the database's",
    ),
    # --- Key Metrics to Monitor > Business Metrics -----------------------------------------
    "estimates-per-hour": Threshold(
        value=5, unit="count", comparison=Comparison.AT_OR_BELOW, severity=Severity.WARNING,
        manual='Key Metrics to Monitor: "Estimates Generated: > 5 per hour during business hours"',
        runbook="Incident Response > Common Incident Types > High Error Rate (Gemini API, key feature outage)",
        statistic=Statistic.SUM, period_minutes=60, evaluation_periods=1, datapoints_to_alarm=1,
        missing_data=MissingData.BREACHING,
        why_missing="no estimate in an hour is zero estimates; outside business hours the expression reads 'fine'",
    ),
    "gemini-latency": Threshold(
        value=10, unit="seconds", comparison=Comparison.ABOVE, severity=Severity.WARNING,
        manual='Key Metrics to Monitor: "Gemini API Latency: < 10 seconds average"',
        runbook="Troubleshooting Guide > Gemini API Failures",
        statistic=Statistic.AVERAGE, period_minutes=5, evaluation_periods=3, datapoints_to_alarm=3,
        missing_data=MissingData.NOT_BREACHING, why_missing="no Gemini call is no slow Gemini call",
    ),
    # --- Log patterns the manual searches for (its numbers are ours) ------------------------
    "failed-logins": Threshold(
        value=20, unit="count", comparison=Comparison.AT_OR_ABOVE, severity=Severity.CRITICAL,
        manual='Security Monitoring: filter-pattern "FAILED_LOGIN"; Severity Levels, P1: "Authentication failures" '
        "(20 in 5 minutes is ours)",
        runbook="Security Procedures > Security Monitoring",
        statistic=Statistic.SUM, period_minutes=5, evaluation_periods=1, datapoints_to_alarm=1,
        missing_data=MissingData.NOT_BREACHING, why_missing=_NO_EVENTS,
    ),
    "slow-queries": Threshold(
        value=10, unit="count", comparison=Comparison.AT_OR_ABOVE, severity=Severity.WARNING,
        manual='High Response Times: filter-pattern "slow query" (10 in 5 minutes is ours)',
        runbook="Troubleshooting Guide > High Response Times",
        statistic=Statistic.SUM, period_minutes=5, evaluation_periods=1, datapoints_to_alarm=1,
        missing_data=MissingData.NOT_BREACHING, why_missing=_NO_EVENTS,
    ),
    "gemini-errors": Threshold(
        value=5, unit="count", comparison=Comparison.AT_OR_ABOVE, severity=Severity.WARNING,
        manual='Gemini API Failures: filter-pattern "GeminiAPI ERROR" (5 in 5 minutes is ours)',
        runbook="Troubleshooting Guide > Gemini API Failures",
        statistic=Statistic.SUM, period_minutes=5, evaluation_periods=1, datapoints_to_alarm=1,
        missing_data=MissingData.NOT_BREACHING, why_missing=_NO_EVENTS,
    ),
    "connection-pool-errors": Threshold(
        value=1, unit="count", comparison=Comparison.AT_OR_ABOVE, severity=Severity.WARNING,
        manual='Database Connection Issues: filter-pattern "connection pool" (any is ours)',
        runbook="Troubleshooting Guide > Database Connection Issues",
        statistic=Statistic.SUM, period_minutes=5, evaluation_periods=1, datapoints_to_alarm=1,
        missing_data=MissingData.NOT_BREACHING, why_missing=_NO_EVENTS,
    ),
    # --- Security Procedures > Certificate Management -----------------------------------------
    "certificate-expiry": Threshold(
        value=30, unit="days", comparison=Comparison.BELOW, severity=Severity.WARNING,
        manual='Certificate Management: "Renew certificates (automatic with ACM, but verify)"',
        runbook="Security Procedures > Certificate Management",
        statistic=Statistic.MINIMUM, period_minutes=1440, evaluation_periods=1, datapoints_to_alarm=1,
        missing_data=MissingData.MISSING, why_missing="ACM reports once a day; a gap says nothing about the expiry",
    ),
    "certificate-expiry-critical": Threshold(
        value=7, unit="days", comparison=Comparison.BELOW, severity=Severity.CRITICAL,
        manual='Certificate Management: "Renew certificates (automatic with ACM, but verify)"',
        runbook="Security Procedures > Certificate Management",
        statistic=Statistic.MINIMUM, period_minutes=1440, evaluation_periods=1, datapoints_to_alarm=1,
        missing_data=MissingData.MISSING, why_missing="ACM reports once a day; a gap says nothing about the expiry",
    ),
    # --- Disaster Recovery ---------------------------------------------------------------------
    "primary-health": Threshold(
        value=1, unit="healthy (1) / unhealthy (0)", comparison=Comparison.BELOW, severity=Severity.CRITICAL,
        manual='Cross-Region Recovery: "Update DNS to point to DR region"; Severity Levels, P0: "Complete service outage"',
        runbook="Disaster Recovery > Cross-Region Recovery (README: DR drill)",
        statistic=Statistic.MINIMUM, period_minutes=1, evaluation_periods=2, datapoints_to_alarm=2,
        missing_data=MissingData.BREACHING, why_missing="Route 53 reports every minute; silence is not health",
    ),
    # How far the DR region's replica is behind is the RPO a regional outage would cost now.
    "replica-lag": Threshold(
        value=RPO_DATABASE_MINUTES * 60 // 3, unit="seconds", comparison=Comparison.ABOVE, severity=Severity.WARNING,
        manual='Recovery Point Objectives: "Database: 15 minutes" (warning at a third of it; ours)',
        runbook="Disaster Recovery > Recovery Point Objectives (README: Disaster recovery)",
        statistic=Statistic.MAXIMUM, period_minutes=1, evaluation_periods=5, datapoints_to_alarm=5,
        missing_data=MissingData.BREACHING, why_missing="a replica that reports no lag is not replicating",
    ),
    "replica-lag-critical": Threshold(
        value=RPO_DATABASE_MINUTES * 60, unit="seconds", comparison=Comparison.AT_OR_ABOVE, severity=Severity.CRITICAL,
        manual='Recovery Point Objectives: "Database: 15 minutes (continuous backups)"',
        runbook="Disaster Recovery > Recovery Point Objectives (README: Disaster recovery)",
        statistic=Statistic.MAXIMUM, period_minutes=1, evaluation_periods=3, datapoints_to_alarm=3,
        missing_data=MissingData.BREACHING, why_missing="a replica that reports no lag is not replicating",
    ),
}  # fmt: skip

# The ones other code names directly.
RUNNING_TASKS = THRESHOLDS["running-tasks"]
ECS_CPU = THRESHOLDS["ecs-cpu"]
ECS_MEMORY = THRESHOLDS["ecs-memory"]

# How long a health check waits for `/health` (ours: the manual names no number).
HEALTH_TIMEOUT_SECONDS = 5


def checklist_limits() -> dict[str, float]:
    """The daily checklist's limits, from the table above: what `checklist daily` and the
    scheduled function (runbook/scheduled/daily.py, which cannot import this) judge with."""
    return {
        "min_tasks": RUNNING_TASKS.value,
        "error_rate": THRESHOLDS["api-error-rate"].value,
        "ecs_cpu": ECS_CPU.value,
        "ecs_memory": ECS_MEMORY.value,
        "db_cpu": THRESHOLDS["db-cpu"].value,
        "db_free_gib": THRESHOLDS["db-free-storage"].value,
        "rpo_minutes": RPO_DATABASE_MINUTES,
        "health_timeout_seconds": HEALTH_TIMEOUT_SECONDS,
    }


# Severity Levels, P0 "Complete service outage": when any of these fire together, the
# composite `service-down` alarm pages once; they themselves report to the warning channel.
SERVICE_DOWN_MEMBERS = ("no-healthy-targets", "running-tasks", "api-error-rate-critical")
SERVICE_DOWN = (
    'Severity Levels, P0: "Complete service outage"',
    "Incident Response > Immediate Response (First 5 minutes)",
)


def markdown_table() -> str:
    """The README's alarm table, rendered from THRESHOLDS (a test keeps the README in step)."""
    rows = [
        "| alarm `contractorlens-<env>-…` | fires when | severity | statistic, period, datapoints | manual | runbook |",
        "|---|---|---|---|---|---|",
    ]
    for key, t in THRESHOLDS.items():
        severity = t.severity.value + (" (pages via `service-down`)" if key in SERVICE_DOWN_MEMBERS else "")
        mechanics = f"{t.statistic}, {t.period_minutes} min, {t.datapoints_to_alarm} of {t.evaluation_periods}"
        manual = t.manual.replace("|", "\\|")
        rows.append(f"| `{key}` | {t.condition} | {severity} | {mechanics} | {manual} | {t.runbook} |")
    manual_line, runbook = SERVICE_DOWN
    members = ", ".join(f"`{key}`" for key in SERVICE_DOWN_MEMBERS)
    rows.append(f"| `service-down` (composite) | any of {members} | critical | composite | {manual_line} | {runbook} |")
    return "\n".join(rows) + "\n"
