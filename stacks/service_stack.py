from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Annotations, CfnOutput, Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_kms as kms
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from cdk_constructs.alarms import AlarmGroup
from cdk_constructs.compliance import acknowledge
from cdk_constructs.cross_region import ParameterInRegion
from cdk_constructs.logs import ServiceLogs
from cdk_constructs.prometheus import COLLECTOR_MEMORY_MIB, PrometheusWorkspace, add_collector
from cdk_constructs.registry import allow_cached_pull, cached_image
from config import EnvironmentConfig
from config.manual import HEALTH_CHECK_PATH, METRICS_PORT
from stacks.base import EnvironmentStack, pin_logical_id
from stacks.catalogue import MetricSources, Owner, add_alarms, alert_topic_arns, metric_sources, owned_by
from stacks.data_stack import DataOutputs
from stacks.regional import PublicEntry, RegionalApi, RegionalNetwork, database_link, scaling, service_logs


@dataclass(frozen=True)
class ServiceOutputs:
    """What the Monitoring stack needs from the Service stack, and nothing else."""

    metrics: MetricSources
    deployment_alarms: Sequence[cloudwatch.IAlarm]
    """The alarms ECS rolls back on, which this stack owns."""
    cluster: ecs.ICluster
    """Where Grafana runs too."""
    prometheus: PrometheusWorkspace | None


class ServiceStack(EnvironmentStack):
    """The public entry point (certificate, DNS, ALB, WAF) and the backend on ECS Fargate."""

    def __init__(self, scope: Construct, *, cfg: EnvironmentConfig, network: RegionalNetwork, data: DataOutputs) -> None:
        super().__init__(
            scope,
            cfg=cfg,
            part="Service",
            region=cfg.region,
            availability_zones=cfg.availability_zones,
            description="certificate, DNS, load balancer, WAF and the Fargate service",
        )
        logs = service_logs(self)
        self.key = logs.key
        self.entry = PublicEntry(self, vpc=network.vpc, security_group=network.security_groups.alb, logs=logs)
        self.gemini_key = self._gemini_key(logs.key)
        # The backend logs in as the master user only when the config says so; otherwise the
        # master secret stays with the Data stack's db-users task.
        master_secret = cfg.database.app_login == "master-secret"
        self.api = RegionalApi(
            self,
            vpc=network.vpc,
            security_group=network.security_groups.app,
            entry=self.entry,
            logs=logs,
            gemini_key=self.gemini_key,
            database=database_link(
                self,
                endpoint_address=ssm.StringParameter.value_for_string_parameter(self, data.parameters.endpoint),
                endpoint_port=ssm.StringParameter.value_for_string_parameter(self, data.parameters.port),
                secret_arn=ssm.StringParameter.value_for_string_parameter(self, data.parameters.secret_arn) if master_secret else None,
            ),
            # RDS encrypts the secret it manages with the data key.
            secret_keys=[data.key] if master_secret else [],
            scaling=scaling(cfg.service),
            database_settings_first=True,
            sidecar_memory_mib=COLLECTOR_MEMORY_MIB,
        ).api
        sources = metric_sources(
            cfg,
            load_balancer=self.entry.alb,
            target_group=self.api.target_group,
            service=self.api.service,
            db_instance_identifier=cfg.names.db_instance,
            certificate_arn=self.entry.certificate_arn,
        )
        deployment_alarms = self._deployment_alarms(sources)
        self.prometheus = self._prometheus(logs) if cfg.observability.prometheus else None
        if cfg.dns.domain:
            self._point_dns()
        CfnOutput(self, "ApiUrl", value=self.entry.url, description="The API's base URL")
        CfnOutput(self, "TargetGroupArn", value=self.api.target_group.target_group_arn)
        self.outputs = ServiceOutputs(
            metrics=sources, deployment_alarms=deployment_alarms, cluster=self.api.cluster, prometheus=self.prometheus
        )

    def _gemini_key(self, key: kms.IKey) -> secretsmanager.Secret:
        """The Gemini API key an operator sets; the DR region's tasks read its replica, so it is set
        once and survives the region."""
        cfg, names = self.cfg, self.cfg.names
        secret = secretsmanager.Secret(
            self,
            "GeminiApiKey",
            secret_name=names.gemini_secret,
            description="Google Gemini API key of the backend; an operator sets the value (see README)",
            encryption_key=key,
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
            replica_regions=[
                secretsmanager.ReplicaRegion(
                    region=cfg.dr_region, encryption_key=kms.Key.from_key_arn(self, "DrKey", self.dr_key_alias_arn)
                )
            ]
            if cfg.dr.enabled
            else None,
        )
        for rule in ("AwsSolutions-SMG4", "NIST.800.53.R5-SecretsManagerRotationEnabled"):
            acknowledge(
                secret,
                rule,
                "Google issues the Gemini API key; AWS cannot rotate it. Operators replace it in Google's console "
                "and put the new value here (README: Gemini API key).",
            )
        pin_logical_id(secret, "GeminiApiKey")
        return secret

    def _deployment_alarms(self, sources: MetricSources) -> list[cloudwatch.IAlarm]:
        """The alarms ECS rolls a deployment back on (the catalogue's Service-owned ones)."""
        names = self.cfg.names
        group = AlarmGroup(self, "DeploymentAlarms")
        # The topics by ARN, not by reference: they belong to the Monitoring stack, which is
        # deployed after this one (it watches this stack's resources).
        add_alarms(group, owned_by(Owner.SERVICE), sources=sources, names=names, topics=alert_topic_arns(self, names))
        alarms: list[cloudwatch.IAlarm] = [group.alarms[key] for key in sorted(group.alarms)]
        self.api.roll_back_on(alarms)
        return alarms

    def _prometheus(self, logs: ServiceLogs) -> PrometheusWorkspace:
        """The workspace, and the collector beside each task that scrapes the metrics port."""
        obs, names = self.cfg.observability, self.cfg.names
        workspace = PrometheusWorkspace(self, "Prometheus", alias=names.prefix)
        pin_logical_id(workspace.workspace, "PrometheusWorkspace")
        collector = add_collector(
            self.api.task_definition,
            image=self._through_cache(obs.collector_image),
            workspace=workspace,
            region=self.region,
            scrape_interval_seconds=obs.scrape_interval_seconds,
            metrics_port=METRICS_PORT,
            job=names.service,
            log_group=logs.app,
        )
        if collector.image_name != obs.collector_image:
            Annotations.of(collector).acknowledge_warning(
                "@aws-cdk/aws-ecs:ecrImageRequiresPolicy",
                "The execution role may pull from the cache's repositories (_through_cache), as CDK asks.",
            )
        return workspace

    def _through_cache(self, image: str) -> str:
        """An Amazon ECR Public image as pulled through the Registry stack's cache rule, with the
        execution role's permission to do so; any other image as it is."""
        prefix = self.cfg.names.public_image_cache
        cached = cached_image(image, prefix=prefix, account=self.account, region=self.region)
        if cached != image:
            allow_cached_pull(self.api.task_definition, prefix=prefix)
        return cached

    def _point_dns(self) -> None:
        """`api.<domain>` at this region's load balancer; with a DR stack, as the PRIMARY of a
        failover pair whose SECONDARY is the DR stack's.

        The health check probes this region's load balancer by its own DNS name, not
        `api.<domain>`: after a failover that name points at the DR region, and a check that
        followed it would report the primary healthy again and fail straight back. Route 53
        does not validate the certificate, so the ALB's name is fine for HTTPS.
        """
        cfg = self.cfg
        if not cfg.dr.enabled:
            self.entry.point_dns()
            return
        health_check = route53.HealthCheck(
            self,
            "PrimaryHealthCheck",
            type=route53.HealthCheckType.HTTPS,
            fqdn=self.entry.alb.load_balancer_dns_name,
            port=443,
            resource_path=HEALTH_CHECK_PATH,
            request_interval=Duration.seconds(cfg.dr.health_check_interval_seconds),
            failure_threshold=cfg.dr.health_check_failure_threshold,
            enable_sni=True,
        )
        self.entry.point_dns(failover=route53.Failover.PRIMARY, health_check=health_check)
        # Route 53 publishes health-check metrics in us-east-1 only; the DR stack, there, alarms
        # on it and finds it through this parameter in its own region.
        ParameterInRegion(
            self,
            "HealthCheckIdInDrRegion",
            region=cfg.dr_region,
            name=cfg.names.health_check_parameter,
            value=health_check.health_check_id,
            description=f"Route 53 health check of the {cfg.name} primary region's load balancer",
        )
