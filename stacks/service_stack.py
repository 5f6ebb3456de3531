from __future__ import annotations

from aws_cdk import Annotations, CfnOutput, Duration, RemovalPolicy
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from cdk_constructs.alarms import DeploymentAlarms
from cdk_constructs.api_domain import ApiDomain
from cdk_constructs.api_service import Scaling
from cdk_constructs.compliance import acknowledge
from cdk_constructs.cross_region import ParameterInRegion
from cdk_constructs.database import DATABASE_NAME, PostgresDatabase
from cdk_constructs.load_balancer import PublicLoadBalancer
from cdk_constructs.network import TierSecurityGroups
from cdk_constructs.prometheus import PrometheusWorkspace, add_collector
from cdk_constructs.threshold import Severity
from config import EnvironmentConfig
from config.manual import HEALTH_CHECK_PATH
from stacks.base import EnvironmentStack, pin_logical_id, regional_api, service_logs

HTTP_ONLY_WARNING = "ContractorLens:HttpOnly"


class ServiceStack(EnvironmentStack):
    """The public entry point (certificate, DNS, ALB, WAF) and the backend on ECS Fargate."""

    def __init__(
        self,
        scope: Construct,
        *,
        cfg: EnvironmentConfig,
        vpc: ec2.IVpc,
        security_groups: TierSecurityGroups,
        database: PostgresDatabase,
        data_key: kms.IKey,
    ) -> None:
        super().__init__(
            scope,
            cfg=cfg,
            part="Service",
            region=cfg.region,
            availability_zones=cfg.availability_zones,
            description="certificate, DNS, load balancer, WAF and the Fargate service",
        )
        names, svc = cfg.names, cfg.service

        logs = service_logs(self, cfg)
        self.key = logs.key

        # Certificate: issued for api.<domain> when a domain is configured, else an existing ARN.
        self.domain: ApiDomain | None = None
        certificate: acm.ICertificate | None = None
        if cfg.dns.domain:
            self.domain = ApiDomain(self, "Domain", domain=cfg.dns.domain, hosted_zone_id=cfg.dns.hosted_zone_id)
            certificate = self.domain.certificate
        elif cfg.dns.certificate_arn:
            certificate = acm.Certificate.from_certificate_arn(self, "Certificate", cfg.dns.certificate_arn)
        else:
            Annotations.of(self).add_warning_v2(
                HTTP_ONLY_WARNING,
                f"{cfg.source} sets neither dns.domain nor dns.certificate_arn: the load balancer serves HTTP only "
                "on port 80, and the iOS app's traffic is not encrypted. Set one of them for HTTPS.",
            )

        self.load_balancer = PublicLoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            security_group=security_groups.alb,
            certificate=certificate,
            idle_timeout=Duration.seconds(svc.idle_timeout_seconds),
            deletion_protection=svc.load_balancer_deletion_protection,
            access_log_expiry_days=svc.access_log_expiry_days,
        )
        alb = self.load_balancer.alb
        if not svc.load_balancer_deletion_protection:
            acknowledge(
                alb,
                "NIST.800.53.R5-ELBDeletionProtectionEnabled",
                f"{cfg.source} turns ALB deletion protection off for this non-production environment so it can "
                "be torn down; the ALB holds no data.",
            )

        self.gemini_key = secretsmanager.Secret(
            self,
            "GeminiApiKey",
            secret_name=names.gemini_secret,
            description="Google Gemini API key of the backend; an operator sets the value (see README)",
            encryption_key=self.key,
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
            # The DR region's tasks read a replica, so the key is set once and survives the region.
            replica_regions=[
                secretsmanager.ReplicaRegion(
                    region=cfg.dr_region,
                    # By the alias's ARN in the DR region: the key belongs to the DRFoundation stack there.
                    encryption_key=kms.Key.from_key_arn(
                        self,
                        "DrKey",
                        f"arn:{self.partition}:kms:{cfg.dr_region}:{self.account}:{names.dr_key_alias}",
                    ),
                )
            ]
            if cfg.dr.enabled
            else None,
        )
        for rule in ("AwsSolutions-SMG4", "NIST.800.53.R5-SecretsManagerRotationEnabled"):
            acknowledge(
                self.gemini_key,
                rule,
                "Google issues the Gemini API key; AWS cannot rotate it. Operators replace it in Google's console "
                "and put the new value here (README: Gemini API key).",
            )

        # Imported here without its key: a grant on the Data stack's key would make the Data
        # stack refer back to this one's role (a cycle). Decrypt is granted on the role below.
        db_secret = secretsmanager.Secret.from_secret_complete_arn(self, "DatabaseSecret", database.secret.secret_arn)
        self.rollback_alarms = DeploymentAlarms(
            self,
            "DeploymentAlarms",
            load_balancer=alb,
            error_rate_alarm_name=names.rollback_alarms["api-error-rate"],
            latency_alarm_name=names.rollback_alarms["api-p95-latency"],
            # By name, not by reference: the topics belong to the Monitoring stack, which is
            # deployed after this one (it watches this stack's resources).
            topic_arns={severity: self.format_arn(service="sns", resource=names.alarm_topic(severity.value)) for severity in Severity},
        )
        self.api = regional_api(
            self,
            cfg,
            logs=logs,
            vpc=vpc,
            security_group=security_groups.app,
            load_balancer=self.load_balancer,
            environment={
                "DB_HOST": database.instance.db_instance_endpoint_address,
                "DB_PORT": database.instance.db_instance_endpoint_port,
                "DB_NAME": DATABASE_NAME,
                "FIREBASE_PROJECT_ID": svc.firebase_project_id,
            },
            secrets={
                "DB_USERNAME": ecs.Secret.from_secrets_manager(db_secret, "username"),
                "DB_PASSWORD": ecs.Secret.from_secrets_manager(db_secret, "password"),
                "GEMINI_API_KEY": ecs.Secret.from_secrets_manager(self.gemini_key),
            },
            # RDS encrypts the secret it manages with the data key.
            secret_keys=[data_key],
            deployment_alarms=[self.rollback_alarms.error_rate, self.rollback_alarms.latency],
            scaling=Scaling.of(svc),
        )
        self.prometheus: PrometheusWorkspace | None = None
        if cfg.observability.prometheus:
            self.prometheus = PrometheusWorkspace(self, "Prometheus", alias=names.prefix)
            pin_logical_id(self.prometheus.workspace, "PrometheusWorkspace")
            add_collector(
                self.api.task_definition,
                image=cfg.observability.collector_image,
                workspace=self.prometheus,
                region=self.region,
                scrape_interval_seconds=cfg.observability.scrape_interval_seconds,
                job=names.service,
                log_group=logs.app,
            )
        if self.domain is not None and cfg.dr.enabled:
            self._failover_primary(self.domain, alb)
        elif self.domain is not None:
            self.domain.point_at(alb)

        scheme = "https" if self.load_balancer.https else "http"
        host = self.domain.host_name if self.domain else alb.load_balancer_dns_name
        CfnOutput(self, "ApiUrl", value=f"{scheme}://{host}", description="The API's base URL")
        CfnOutput(self, "LoadBalancerDnsName", value=alb.load_balancer_dns_name)
        CfnOutput(self, "ClusterName", value=self.api.cluster.cluster_name)
        CfnOutput(self, "ServiceName", value=self.api.service.service_name)
        CfnOutput(self, "TargetGroupArn", value=self.api.target_group.target_group_arn)

        pin_logical_id(self.gemini_key, "GeminiApiKey")
        pin_logical_id(self.load_balancer.access_logs, "AccessLogsBucket")

    def _failover_primary(self, domain: ApiDomain, alb: elbv2.IApplicationLoadBalancer) -> None:
        """`api.<domain>` as the PRIMARY of a failover pair whose SECONDARY is the DR stack's.

        The health check probes this region's load balancer by its own DNS name, not
        `api.<domain>`: after a failover that name points at the DR region, and a check that
        followed it would report the primary healthy again and fail straight back. Route 53
        does not validate the certificate, so the ALB's name is fine for HTTPS.
        """
        cfg = self.cfg
        health_check = route53.HealthCheck(
            self,
            "PrimaryHealthCheck",
            type=route53.HealthCheckType.HTTPS,
            fqdn=alb.load_balancer_dns_name,
            port=443,
            resource_path=HEALTH_CHECK_PATH,
            request_interval=Duration.seconds(cfg.dr.health_check_interval_seconds),
            failure_threshold=cfg.dr.health_check_failure_threshold,
            enable_sni=True,
        )
        domain.point_at(alb, failover=route53.Failover.PRIMARY, health_check=health_check)
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
