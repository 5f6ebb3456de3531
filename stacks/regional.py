"""What the primary region and the DR region both run, built in one place for both.

`RegionalNetwork` (the VPC with the manual's three security groups), `PublicEntry` (the API's
name and certificate, the internet-facing load balancer, WAF) and `RegionalApi` (the Fargate
service with its logs, secrets and database settings), plus the service's logs and the alert
channels. The Network and Service stacks use them for the primary region, the DR stack for its
own; each translates the environment's config into the constructs' arguments.

They are components, not constructs: each adds its constructs to the stack under the ids they
have always had (`Network`, `SecurityGroups`, `Domain`, `LoadBalancer`, `Firewall`, `Logs`,
`Api`, ...). A construct's path is part of the logical id of every resource below it and of the
Name tags of the VPC and its subnets, so one more level of nesting would make CloudFormation
replace the network, the load balancer and the service.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Annotations, CfnOutput, Duration
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_secretsmanager as secretsmanager

from cdk_constructs.alerting import AlertChannels, Endpoints
from cdk_constructs.api_domain import ApiDomain
from cdk_constructs.api_service import ApiService, Scaling, TaskSize
from cdk_constructs.compliance import CONTROL_TOWER, acknowledge
from cdk_constructs.database import InstanceSettings
from cdk_constructs.firewall import ApiFirewall
from cdk_constructs.load_balancer import PublicLoadBalancer
from cdk_constructs.logs import ServiceLogs
from cdk_constructs.network import AppNetwork, TierSecurityGroups
from cdk_constructs.threshold import Severity
from config.manual import API_HOST_LABEL, HEALTH_CHECK_PATH
from config.names import DATABASE_NAME, DB_LOG_EXPORTS, RDS_CA_BUNDLE
from config.schema import DatabaseConfig, EnvironmentConfig, ServiceConfig
from stacks.base import EnvironmentStack, pin_logical_id

HTTP_ONLY_WARNING = "ContractorLens:HttpOnly"


class RegionalNetwork:
    """The region's VPC, flow logs and endpoints, and the manual's security groups
    (`contractorlens-alb-sg`, `contractorlens-app-sg`, `contractorlens-db-sg`)."""

    def __init__(self, stack: EnvironmentStack, *, cidr: str, availability_zones: Sequence[str], nat_gateways: int) -> None:
        """
        :param cidr: the VPC's block (network.cidr or network.dr_cidr).
        :param availability_zones: the region's zones from config.
        :param nat_gateways: NAT gateways, one per zone at most.
        """
        cfg, names = stack.cfg, stack.cfg.names
        self.network = AppNetwork(
            stack,
            "Network",
            cidr=cidr,
            availability_zones=availability_zones,
            nat_gateways=nat_gateways,
            flow_log_group_name=names.flow_log_group,
            flow_log_retention_days=cfg.network.flow_log_retention_days,
            interface_endpoints=cfg.network.interface_endpoints,
        )
        self.vpc = self.network.vpc
        self.security_groups = TierSecurityGroups(
            stack,
            "SecurityGroups",
            vpc=self.vpc,
            alb_group_name=names.security_group("alb"),
            app_group_name=names.security_group("app"),
            db_group_name=names.security_group("db"),
            container_port=cfg.service.container_port,
        )
        pin_logical_id(self.vpc, "Vpc")
        pin_logical_id(self.network.logs_key, "FlowLogsKey")
        pin_logical_id(self.network.flow_log_group, "FlowLogGroup")


def service_logs(stack: EnvironmentStack) -> ServiceLogs:
    """The service's keys and log groups (`/ecs/contractorlens` first), with pinned logical ids.

    Pinned here, before the service is built: the service names the exec log group's logical
    id in a compliance acknowledgement.
    """
    names = stack.cfg.names
    logs = ServiceLogs(
        stack,
        "Logs",
        key_alias=f"alias/{names.prefix}-service",
        app_log_group=names.app_log_group,
        exec_log_group=names.exec_log_group,
        waf_log_group=names.waf_log_group,
        retention_days=stack.cfg.service.log_retention_days,
    )
    pin_logical_id(logs.key, "ServiceKey")
    pin_logical_id(logs.exec_session_key, "ExecSessionKey")
    for logical_id, group in {"AppLogGroup": logs.app, "ExecLogGroup": logs.exec, "WafLogGroup": logs.waf}.items():
        pin_logical_id(group, logical_id)
    return logs


class PublicEntry:
    """Where the iOS app comes in: `api.<domain>` and its certificate (when a domain is
    configured), the internet-facing load balancer, and WAF in front of it."""

    def __init__(self, stack: EnvironmentStack, *, vpc: ec2.IVpc, security_group: ec2.ISecurityGroup, logs: ServiceLogs) -> None:
        """
        :param vpc: the region's VPC; the load balancer goes into its public subnets.
        :param security_group: the load balancer's group (contractorlens-alb-sg).
        :param logs: the service's logs; WAF writes into their WAF group.
        """
        cfg, svc = stack.cfg, stack.cfg.service
        self.domain: ApiDomain | None = None
        if cfg.dns.domain:
            self.domain = ApiDomain(
                stack, "Domain", host_label=API_HOST_LABEL, domain=cfg.dns.domain, hosted_zone_id=cfg.dns.hosted_zone_id
            )
        self.load_balancer = PublicLoadBalancer(
            stack,
            "LoadBalancer",
            vpc=vpc,
            security_group=security_group,
            certificate=self._certificate(stack),
            idle_timeout=Duration.seconds(svc.idle_timeout_seconds),
            deletion_protection=svc.load_balancer_deletion_protection,
            access_log_expiry_days=svc.access_log_expiry_days,
        )
        self.alb = self.load_balancer.alb
        if not svc.load_balancer_deletion_protection:
            for rule in ("NIST.800.53.R5-ELBDeletionProtectionEnabled", f"{CONTROL_TOWER}elbv2_deletion_protection_enabled_check"):
                acknowledge(
                    self.alb,
                    rule,
                    f"{cfg.source} turns ALB deletion protection off for this non-production environment so it can "
                    "be torn down; the ALB holds no data.",
                )
        ApiFirewall(
            stack,
            "Firewall",
            name=f"{cfg.names.prefix}-api",
            load_balancer_arn=self.alb.load_balancer_arn,
            rate_limit=svc.waf_rate_limit,
            log_group=logs.waf,
            large_body_paths=svc.waf_large_body_paths,
        )
        self.certificate_arn: str | None = cfg.dns.certificate_arn or None
        """The certificate the load balancer serves, for its expiry alarms; None without one."""
        if self.domain is not None:
            self.certificate_arn = self.domain.certificate.certificate_arn
        pin_logical_id(self.load_balancer.access_logs, "AccessLogsBucket")
        CfnOutput(stack, "LoadBalancerDnsName", value=self.alb.load_balancer_dns_name)

    def _certificate(self, stack: EnvironmentStack) -> acm.ICertificate | None:
        """The domain's certificate, or an existing one by ARN; without either, HTTP only (warned)."""
        cfg = stack.cfg
        if self.domain is not None:
            return self.domain.certificate
        if cfg.dns.certificate_arn:
            return acm.Certificate.from_certificate_arn(stack, "Certificate", cfg.dns.certificate_arn)
        Annotations.of(stack).add_warning_v2(
            HTTP_ONLY_WARNING,
            f"{cfg.source} sets neither dns.domain nor dns.certificate_arn: the load balancer serves HTTP only "
            "on port 80, and the iOS app's traffic is not encrypted. Set one of them for HTTPS.",
        )
        return None

    @property
    def url(self) -> str:
        """The API's base URL: https://api.<domain>, or the load balancer's own name."""
        scheme = "https" if self.load_balancer.https else "http"
        host = self.domain.host_name if self.domain is not None else self.alb.load_balancer_dns_name
        return f"{scheme}://{host}"

    def point_dns(self, *, failover: route53.Failover | None = None, health_check: route53.IHealthCheck | None = None) -> None:
        """`api.<domain>` at this load balancer (one record of a failover pair when `failover`)."""
        if self.domain is None:
            raise ValueError("no dns.domain is configured, so there is no record to point")
        self.domain.point_at(self.alb, failover=failover, health_check=health_check)


@dataclass(frozen=True)
class DatabaseLink:
    """Where the service finds its database, and how it logs in: as its own role with an IAM
    token (no secret), or as the master user with the master secret."""

    endpoint_address: str
    endpoint_port: str
    secret: secretsmanager.ISecret | None
    """The master secret when the backend logs in with it (database.app_login = "master-secret")."""
    user: str
    """The backend's own role, when it logs in with an IAM token (Names.app_db_user)."""

    @property
    def environment(self) -> dict[str, str]:
        where = {"DB_HOST": self.endpoint_address, "DB_PORT": self.endpoint_port, "DB_NAME": DATABASE_NAME}
        if self.secret is not None:
            return where
        # The backend contract (README): a token from the task role for this user, over TLS that
        # verifies the RDS certificate against the CA bundle in the image.
        return {**where, "DB_USERNAME": self.user, "DB_AUTH": "iam", "DB_SSLMODE": "verify-full", "DB_SSLROOTCERT": RDS_CA_BUNDLE}

    @property
    def secrets(self) -> dict[str, ecs.Secret]:
        if self.secret is None:
            return {}
        return {
            "DB_USERNAME": ecs.Secret.from_secrets_manager(self.secret, "username"),
            "DB_PASSWORD": ecs.Secret.from_secrets_manager(self.secret, "password"),
        }


def database_link(
    stack: EnvironmentStack, *, endpoint_address: str, endpoint_port: str, secret_arn: str | None = None, secret_name: str | None = None
) -> DatabaseLink:
    """The link to a database, with the master secret whose ARN is `secret_arn` (or, in this region,
    whose name is `secret_name`: a replica of the secret) when the config's `database.app_login`
    says "master-secret" (and there is one). The secret is imported without its key: a grant on
    another stack's key would make that stack refer back to this one's role (a cycle); decrypt is
    granted on the execution role instead (`RegionalApi`'s `secret_keys`)."""
    user = stack.cfg.names.app_db_user
    if stack.cfg.database.app_login != "master-secret" or (secret_arn is None and secret_name is None):
        return DatabaseLink(endpoint_address=endpoint_address, endpoint_port=endpoint_port, secret=None, user=user)
    if secret_name is not None:
        secret = secretsmanager.Secret.from_secret_name_v2(stack, "DatabaseSecret", secret_name)
    else:
        secret = secretsmanager.Secret.from_secret_complete_arn(stack, "DatabaseSecret", str(secret_arn))
    return DatabaseLink(endpoint_address=endpoint_address, endpoint_port=endpoint_port, secret=secret, user=user)


def instance_settings(db: DatabaseConfig) -> InstanceSettings:
    """What the primary database and a DR restore of it share, from the `[database]` section."""
    return InstanceSettings(
        engine_version=db.engine_version,
        instance_type=db.instance_type,
        multi_az=db.multi_az,
        max_allocated_storage_gib=db.max_allocated_storage_gib,
        backup_retention_days=db.backup_retention_days,
        log_exports=DB_LOG_EXPORTS,
        log_retention_days=db.log_retention_days,
        monitoring_interval_seconds=db.monitoring_interval_seconds,
        performance_insights_retention_days=db.performance_insights_retention_days,
        extended_support=db.extended_support,
    )


def scaling(svc: ServiceConfig) -> Scaling:
    """The bounds and goals of an environment's `[service]` section."""
    return Scaling(
        min_tasks=svc.min_tasks,
        max_tasks=svc.max_tasks,
        cpu_percent=svc.cpu_target_percent,
        memory_percent=svc.memory_target_percent,
        requests_per_target=svc.requests_per_target,
    )


class RegionalApi:
    """The API service behind the entry's load balancer: the same names, image, size and logs in
    either region, the Gemini key, and the database's settings when there is a database.

    The repository is found by name (the primary's, or the replica ECR made in the DR region), so
    the image URI is a plain string, not a chain of cross-stack lookups.
    """

    def __init__(
        self,
        stack: EnvironmentStack,
        *,
        vpc: ec2.IVpc,
        security_group: ec2.ISecurityGroup,
        entry: PublicEntry,
        logs: ServiceLogs,
        gemini_key: secretsmanager.ISecret,
        database: DatabaseLink | None,
        secret_keys: Sequence[kms.IKey],
        scaling: Scaling | None,
        database_settings_first: bool = False,
        sidecar_memory_mib: int = 0,
    ) -> None:
        """
        :param vpc: the region's VPC.
        :param security_group: the tasks' group (contractorlens-app-sg).
        :param entry: the load balancer whose listener forwards to the service.
        :param logs: the service's log groups and keys (`service_logs`).
        :param gemini_key: the Gemini API key's secret (or its replica in the DR region).
        :param database: the database, or None while there is none (the DR region in standby).
        :param secret_keys: the keys that encrypt the secrets.
        :param scaling: autoscaling, or None for a service at zero tasks.
        :param database_settings_first: where the database's settings go among the container's
            environment and secrets: first (the primary) or after the others (the DR region).
            The order is part of the task definition, so changing it would register a new
            revision in either region for nothing. Default: after.
        :param sidecar_memory_mib: the memory the stack's sidecars (the metrics collector) take
            from each task, at most. Default: 0.
        """
        names, svc = stack.cfg.names, stack.cfg.service
        app_environment = {"FIREBASE_PROJECT_ID": svc.firebase_project_id}
        app_secrets = {"GEMINI_API_KEY": ecs.Secret.from_secrets_manager(gemini_key)}
        db_environment = database.environment if database is not None else {}
        db_secrets = database.secrets if database is not None else {}
        first, then = (db_environment, app_environment) if database_settings_first else (app_environment, db_environment)
        first_secrets, then_secrets = (db_secrets, app_secrets) if database_settings_first else (app_secrets, db_secrets)
        self.api = ApiService(
            stack,
            "Api",
            vpc=vpc,
            security_group=security_group,
            cluster_name=names.cluster,
            service_name=names.service,
            task_family=names.task_family,
            repository=ecr.Repository.from_repository_name(stack, "Repository", names.repository),
            image_tag=svc.image_tag,
            size=TaskSize(cpu=svc.cpu, memory_mib=svc.memory_mib, container_port=svc.container_port, sidecar_memory_mib=sidecar_memory_mib),
            environment={**first, **then},
            secrets={**first_secrets, **then_secrets},
            exec_key=logs.exec_session_key,
            log_group=logs.app,
            exec_log_group=logs.exec,
            listener=entry.load_balancer.listener,
            health_check_path=HEALTH_CHECK_PATH,
            secret_keys=secret_keys,
            scaling=scaling,
            user=svc.container_user,
        )
        if database is not None and database.secret is None:
            self._allow_iam_login(stack)
        CfnOutput(stack, "ClusterName", value=self.api.cluster.cluster_name)
        CfnOutput(stack, "ServiceName", value=self.api.service.service_name)

    def _allow_iam_login(self, stack: EnvironmentStack) -> None:
        """The task role may sign tokens for the backend's role on any instance of this region: the
        instance's DbiResourceId changes with every promotion, restore and failback."""
        user = stack.cfg.names.app_db_user
        user_arn = f"arn:{stack.partition}:rds-db:{stack.region}:{stack.account}:dbuser:*/{user}"
        self.api.task_definition.add_to_task_role_policy(iam.PolicyStatement(actions=["rds-db:connect"], resources=[user_arn]))
        acknowledge(
            self.api.task_definition.task_role.node.find_child("DefaultPolicy"),
            f"AwsSolutions-IAM5[Resource::{user_arn}]",
            f"Any DB instance of this account and region, but only as {user}, the backend's own least-privilege "
            "role: the instance's resource id changes with each promotion, restore or failback.",
        )


def alert_endpoints(cfg: EnvironmentConfig) -> dict[Severity, Endpoints]:
    """The manual's "Alerting Channels" from the config's [alerting] section."""
    alerting = cfg.alerting
    return {
        Severity.CRITICAL: Endpoints(
            emails=alerting.critical_emails,
            sms=alerting.oncall_sms,
            slack_workspace_id=alerting.slack_workspace_id,
            slack_channel_id=alerting.slack_critical_channel_id,
            slack_channel_name="#alerts-critical",
        ),
        Severity.WARNING: Endpoints(
            emails=alerting.warning_emails,
            slack_workspace_id=alerting.slack_workspace_id,
            slack_channel_id=alerting.slack_warning_channel_id,
            slack_channel_name="#alerts-warning",
        ),
    }


def alert_channels(stack: EnvironmentStack) -> AlertChannels:
    """The region's alert topics and their subscribers. Alarms can only tell topics of their own
    region, so the DR region has the same channels again."""
    names = stack.cfg.names
    channels = AlertChannels(
        stack,
        "Channels",
        topic_names={severity: names.alarm_topic(severity.value) for severity in Severity},
        endpoints=alert_endpoints(stack.cfg),
    )
    pin_logical_id(channels.key, "AlertsKey")
    return channels
