"""The backend's Prometheus metrics into Amazon Managed Service for Prometheus."""

from __future__ import annotations

import json

from aws_cdk import RemovalPolicy
from aws_cdk import aws_aps as aps
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

# The backend's Prometheus metrics that the dashboard reads (README: metric contract).
COLLECTOR_UID = "10001"
COLLECTOR_MEMORY_MIB = 256
"""The collector's hard limit: the backend's task keeps this much memory for it."""
HTTP_REQUESTS = "http_requests_total"  # counter, label `status` (HTTP status code)
HTTP_DURATION = "http_request_duration_seconds"  # histogram
GEMINI_DURATION = "gemini_request_duration_seconds"  # histogram
ESTIMATES = "estimates_generated_total"  # counter


class PrometheusWorkspace(Construct):
    """An Amazon Managed Service for Prometheus workspace: durable, managed metric storage.

    Retained on delete: its metrics are the history the Grafana dashboard shows.
    """

    def __init__(self, scope: Construct, construct_id: str, *, alias: str) -> None:
        """
        :param alias: the workspace's alias, e.g. contractorlens-production.
        """
        super().__init__(scope, construct_id)
        self.workspace = aps.CfnWorkspace(self, "Workspace", alias=alias)
        self.workspace.apply_removal_policy(RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE)
        self.arn = self.workspace.attr_arn
        # attr_prometheus_endpoint ends with "/": .../workspaces/ws-.../
        self.endpoint = self.workspace.attr_prometheus_endpoint


def collector_config(*, remote_write_url: str, region: str, scrape_interval_seconds: int, job: str, metrics_port: int) -> str:
    """The ADOT collector's configuration: scrape localhost:<metrics_port>, remote-write with SigV4.

    The collector runs in the backend's task, so it reaches the metrics port over the task's
    loopback: no security group admits the metrics port, from anywhere.
    """
    config = {
        "extensions": {"sigv4auth": {"region": region, "service": "aps"}},
        "receivers": {
            "prometheus": {
                "config": {
                    "global": {"scrape_interval": f"{scrape_interval_seconds}s"},
                    "scrape_configs": [{"job_name": job, "static_configs": [{"targets": [f"localhost:{metrics_port}"]}]}],
                }
            }
        },
        # Each task's metrics carry its task id, so two tasks never overwrite each other's series.
        "processors": {"resourcedetection": {"detectors": ["env", "ecs"]}, "batch": {}},
        "exporters": {
            "prometheusremotewrite": {
                "endpoint": remote_write_url,
                "auth": {"authenticator": "sigv4auth"},
                "resource_to_telemetry_conversion": {"enabled": True},
            }
        },
        "service": {
            "extensions": ["sigv4auth"],
            "pipelines": {
                "metrics": {
                    "receivers": ["prometheus"],
                    "processors": ["resourcedetection", "batch"],
                    "exporters": ["prometheusremotewrite"],
                }
            },
        },
    }
    # JSON is YAML, and the collector reads YAML from AOT_CONFIG_CONTENT.
    return json.dumps(config, sort_keys=True)


def add_collector(
    task_definition: ecs.TaskDefinition,
    *,
    image: str,
    workspace: PrometheusWorkspace,
    region: str,
    scrape_interval_seconds: int,
    metrics_port: int,
    job: str,
    log_group: logs.ILogGroup,
) -> ecs.ContainerDefinition:
    """The ADOT collector as a sidecar of the backend's task, allowed to write to the workspace only.

    :param task_definition: the backend's task.
    :param image: the collector image, pinned.
    :param workspace: where the metrics go.
    :param region: the workspace's region.
    :param scrape_interval_seconds: how often the metrics port is scraped.
    :param metrics_port: where the backend serves its Prometheus metrics (the manual: 9090).
    :param job: the Prometheus job label, e.g. contractorlens.
    :param log_group: where the collector logs (beside the backend, stream prefix "collector").
    """
    remote_write = f"{workspace.endpoint}api/v1/remote_write"
    container = task_definition.add_container(
        "MetricsCollector",
        container_name="metrics-collector",
        image=ecs.ContainerImage.from_registry(image),
        # The API keeps serving if metrics collection fails.
        essential=False,
        memory_reservation_mib=128,
        memory_limit_mib=COLLECTOR_MEMORY_MIB,
        # The image's own non-root user (aoc, uid 10001), said explicitly: never root.
        user=COLLECTOR_UID,
        # It reads its configuration from the environment and keeps what it scrapes in memory.
        readonly_root_filesystem=True,
        environment={
            "AOT_CONFIG_CONTENT": collector_config(
                remote_write_url=remote_write,
                region=region,
                scrape_interval_seconds=scrape_interval_seconds,
                job=job,
                metrics_port=metrics_port,
            )
        },
        logging=ecs.LogDrivers.aws_logs(stream_prefix="collector", log_group=log_group),
    )
    task_definition.add_to_task_role_policy(iam.PolicyStatement(actions=["aps:RemoteWrite"], resources=[workspace.arn]))
    return container
