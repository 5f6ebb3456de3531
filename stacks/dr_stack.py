from __future__ import annotations

from aws_cdk import CfnOutput, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_kms as kms
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from cdk_constructs.alarms import manual_alarm
from cdk_constructs.alerting import AlertChannels
from cdk_constructs.api_domain import ApiDomain
from cdk_constructs.api_service import Scaling
from cdk_constructs.compliance import acknowledge
from cdk_constructs.database import DATABASE_NAME, RestoredPostgresDatabase, RestorePlacement
from cdk_constructs.load_balancer import PublicLoadBalancer
from cdk_constructs.monitoring import ApplicationAlarms, BusinessHours, ServiceHandles
from cdk_constructs.network import AppNetwork, TierSecurityGroups
from cdk_constructs.threshold import Severity
from config import EnvironmentConfig
from config.dr import DrSettings
from config.thresholds import SERVICE_DOWN_MEMBERS, THRESHOLDS
from stacks.base import EnvironmentStack, pin_logical_id, regional_api, service_logs
from stacks.monitoring_stack import alert_endpoints, standard_utc_offset_hours


class DrStack(EnvironmentStack):
    """The DR region's copy of the service: a pilot light in standby, a running copy when active.

    Standby: network, ALB with its own certificate, WAF, the ECS service at zero tasks on the
    replicated image, the SECONDARY record of `api.<domain>`, and the alarm on the primary's
    health check. Active adds the database restored from the replicated backups, runs the
    service at the production floor against it, and watches it with the critical alarms.

    Nothing here refers to the primary region's stacks: names come from config, the key and
    the repository from this region, and the health check's id from an SSM parameter here.
    """

    def __init__(self, scope: Construct, *, cfg: EnvironmentConfig, dr: DrSettings, dr_key: kms.IKey) -> None:
        super().__init__(
            scope,
            cfg=cfg,
            part="DR",
            region=cfg.dr_region,
            availability_zones=cfg.dr.availability_zones,
            description=f"disaster recovery in {cfg.dr_region} ({dr.mode})",
        )
        names, svc, db = cfg.names, cfg.service, cfg.database
        self.mode = dr.mode

        self.network = AppNetwork(
            self,
            "Network",
            cidr=cfg.network.dr_cidr,
            availability_zones=cfg.dr.availability_zones,
            nat_gateways=cfg.dr.nat_gateways,
            flow_log_group_name=names.flow_log_group,
            flow_log_retention_days=cfg.network.flow_log_retention_days,
            interface_endpoints=cfg.network.interface_endpoints,
        )
        groups = TierSecurityGroups(
            self,
            "SecurityGroups",
            vpc=self.network.vpc,
            alb_group_name=names.security_group("alb"),
            app_group_name=names.security_group("app"),
            db_group_name=names.security_group("db"),
            container_port=svc.container_port,
        )
        logs = service_logs(self, cfg)
        self.key = logs.key

        # The same API name, with a certificate of this region (ACM certificates are regional).
        self.domain = ApiDomain(self, "Domain", domain=cfg.dns.domain, hosted_zone_id=cfg.dns.hosted_zone_id)
        self.load_balancer = PublicLoadBalancer(
            self,
            "LoadBalancer",
            vpc=self.network.vpc,
            security_group=groups.alb,
            certificate=self.domain.certificate,
            idle_timeout=Duration.seconds(svc.idle_timeout_seconds),
            deletion_protection=svc.load_balancer_deletion_protection,
            access_log_expiry_days=svc.access_log_expiry_days,
        )
        alb = self.load_balancer.alb

        environment = {"FIREBASE_PROJECT_ID": svc.firebase_project_id}
        gemini = secretsmanager.Secret.from_secret_name_v2(self, "GeminiApiKey", names.gemini_secret)
        secrets = {"GEMINI_API_KEY": ecs.Secret.from_secrets_manager(gemini)}
        placement = RestorePlacement(
            self,
            "RestorePlacement",
            vpc=self.network.vpc,
            subnet_group_name=names.dr_db_subnet_group,
            parameter_group_name=names.dr_db_parameter_group,
            engine_version=db.engine_version,
            slow_query_log_ms=db.slow_query_log_ms,
        )
        self.database: RestoredPostgresDatabase | None = None
        if dr.active:
            self.database = RestoredPostgresDatabase(
                self,
                "Database",
                placement=placement,
                security_group=groups.db,
                key=dr_key,
                instance_identifier=names.db_restored_instance,
                source_instance_identifier=names.db_instance,
                restore_kind=dr.restore.kind,
                restore_value=dr.restore.value,
                engine_version=db.engine_version,
                instance_type=db.instance_type,
                multi_az=db.multi_az,
                max_allocated_storage_gib=db.max_allocated_storage_gib,
                backup_retention_days=db.backup_retention_days,
                log_retention_days=db.log_retention_days,
                monitoring_interval_seconds=db.monitoring_interval_seconds,
                performance_insights_retention_days=db.performance_insights_retention_days,
            )
            pin_logical_id(self.database.instance, "RestoredDatabase")
            for export, group in self.database.log_groups.items():
                pin_logical_id(group, f"Restored{export.title()}LogGroup")
            db_secret = secretsmanager.Secret.from_secret_complete_arn(self, "DatabaseSecret", self.database.secret_arn)
            environment |= {
                "DB_HOST": self.database.endpoint_address,
                "DB_PORT": self.database.endpoint_port,
                "DB_NAME": DATABASE_NAME,
            }
            secrets |= {
                "DB_USERNAME": ecs.Secret.from_secrets_manager(db_secret, "username"),
                "DB_PASSWORD": ecs.Secret.from_secrets_manager(db_secret, "password"),
            }

        self.api = regional_api(
            self,
            cfg,
            logs=logs,
            vpc=self.network.vpc,
            security_group=groups.app,
            load_balancer=self.load_balancer,
            environment=environment,
            secrets=secrets,
            # The Gemini key's replica and the restored database's secret use the DR key.
            secret_keys=[dr_key],
            scaling=Scaling.of(svc) if dr.active else None,
        )
        self.domain.point_at(alb, failover=route53.Failover.SECONDARY)

        # Alarms here can only notify topics of this region: the same channels, again.
        self.channels = AlertChannels(
            self,
            "Channels",
            topic_names={severity: names.alarm_topic(severity.value) for severity in Severity},
            endpoints=alert_endpoints(cfg),
        )
        topics = {severity: topic.topic_arn for severity, topic in self.channels.topics.items()}
        primary_health = THRESHOLDS["primary-health"]
        self.primary_health_alarm = manual_alarm(
            self,
            "PrimaryHealthAlarm",
            alarm_name=names.alarm("primary-health"),
            threshold=primary_health,
            metric=cloudwatch.Metric(
                namespace="AWS/Route53",
                metric_name="HealthCheckStatus",
                dimensions_map={"HealthCheckId": ssm.StringParameter.value_for_string_parameter(self, names.health_check_parameter)},
            ),
            what=f"Route 53 health check of the primary region's /health ({cfg.region}); DNS has failed over",
            topic_arn=topics[primary_health.severity],
        )
        if dr.active:
            critical = [k for k, t in THRESHOLDS.items() if t.severity is Severity.CRITICAL and k != "primary-health"]
            keys = set(critical) | set(SERVICE_DOWN_MEMBERS)
            self.alarms = ApplicationAlarms(
                self,
                "Alarms",
                handles=ServiceHandles(
                    load_balancer=alb,
                    target_group=self.api.target_group,
                    service=self.api.service,
                    cluster_name=names.cluster,
                    service_name=names.service,
                    app_log_group_name=names.app_log_group,
                    db_instance_identifier=names.db_restored_instance,
                    certificate_arn=self.domain.certificate.certificate_arn,
                ),
                alarm_names={**{k: names.alarm(k) for k in keys}, "service-down": names.alarm("service-down")},
                topic_arns=topics,
                metric_namespace=names.metric_namespace,
                business_hours=BusinessHours(
                    days=tuple(cfg.alerting.business_days),
                    start_hour=cfg.alerting.business_hours_start,
                    end_hour=cfg.alerting.business_hours_end,
                    utc_offset_hours=standard_utc_offset_hours(cfg.alerting.time_zone),
                ),
            )

        CfnOutput(self, "Mode", value=dr.mode)
        CfnOutput(self, "LoadBalancerDnsName", value=alb.load_balancer_dns_name)
        CfnOutput(self, "ClusterName", value=self.api.cluster.cluster_name)
        CfnOutput(self, "ServiceName", value=self.api.service.service_name)
        if self.database is not None:
            CfnOutput(self, "DatabaseEndpoint", value=self.database.endpoint_address)
        pin_logical_id(self.network.vpc, "Vpc")
        pin_logical_id(self.network.logs_key, "FlowLogsKey")
        pin_logical_id(self.network.flow_log_group, "FlowLogGroup")
        pin_logical_id(self.load_balancer.access_logs, "AccessLogsBucket")
        pin_logical_id(self.channels.key, "AlertsKey")
        if not svc.load_balancer_deletion_protection:
            acknowledge(
                alb,
                "NIST.800.53.R5-ELBDeletionProtectionEnabled",
                f"{cfg.source} turns ALB deletion protection off for this environment; the ALB holds no data.",
            )
