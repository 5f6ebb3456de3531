"""Grafana on port 3001: the `contractorlens-prod` dashboard, its data sources, and the service."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_efs as efs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as targets
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from cdk_constructs.compliance import CONTROL_TOWER, acknowledge
from cdk_constructs.load_balancer import TLS_POLICY
from cdk_constructs.network import keep_default_egress_closed
from cdk_constructs.protection import LATE_PROTECTION, DeletionProtection
from cdk_constructs.threshold import Comparison, Severity, Threshold

PROMETHEUS_UID, CLOUDWATCH_UID = "prometheus", "cloudwatch"
GRAFANA_UID = 472  # the grafana user of the official image
# What Grafana's container runs: the data sources, providers and dashboard from its environment
# into its provisioning directory (under /tmp, writable by its user), then Grafana itself.
PROVISION_AND_RUN = (
    "mkdir -p /tmp/grafana/provisioning/datasources /tmp/grafana/provisioning/dashboards"
    " /tmp/grafana/dashboards"
    ' && printf "%s" "$DATASOURCES" > /tmp/grafana/provisioning/datasources/contractorlens.yaml'
    ' && printf "%s" "$PROVIDERS" > /tmp/grafana/provisioning/dashboards/contractorlens.yaml'
    ' && printf "%s" "$DASHBOARD" > /tmp/grafana/dashboards/contractorlens.json'
    " && exec /run.sh"
)
GRAFANA_MEMORY_MIB = 1024
"""The task's memory, and its one container's hard limit."""
SCRATCH_VOLUME = "scratch"
_STEP_COLOURS = {Severity.WARNING: "orange", Severity.CRITICAL: "red"}


def _datasources(*, prometheus_endpoint: str, region: str) -> dict[str, Any]:
    """Grafana's provisioned data sources: the workspace (signed with the task role) and CloudWatch."""
    return {
        "apiVersion": 1,
        "datasources": [
            {
                "name": "Prometheus", "uid": PROMETHEUS_UID, "type": "prometheus", "access": "proxy",
                "url": prometheus_endpoint, "isDefault": True,
                "jsonData": {"sigV4Auth": True, "sigV4AuthType": "default", "sigV4Region": region, "httpMethod": "POST"},
            },
            {
                "name": "CloudWatch", "uid": CLOUDWATCH_UID, "type": "cloudwatch",
                "jsonData": {"authType": "default", "defaultRegion": region},
            },
        ],
    }  # fmt: skip


@dataclass(frozen=True)
class Panel:
    """One time-series panel: a query, its unit, and the thresholds of the alarms on what it shows."""

    title: str
    query: dict[str, Any]
    """A Prometheus or CloudWatch target (`prometheus_query`, `cloudwatch_query`)."""
    unit: str
    """Grafana's unit id, e.g. "s", "percent", "none"."""
    thresholds: Sequence[Threshold] = ()
    """Drawn as lines where they can be (an anomaly band cannot); their manual lines describe the panel."""


def prometheus_query(expr: str) -> dict[str, Any]:
    return {"datasource": {"type": "prometheus", "uid": PROMETHEUS_UID}, "expr": expr, "refId": "A"}


def cloudwatch_query(namespace: str, metric: str, dimensions: dict[str, str], statistic: str, region: str) -> dict[str, Any]:
    return {
        "datasource": {"type": "cloudwatch", "uid": CLOUDWATCH_UID},
        "namespace": namespace,
        "metricName": metric,
        "dimensions": dimensions,
        "statistic": statistic,
        "region": region,
        "period": "60",
        "refId": "A",
    }


def _steps(thresholds: Sequence[Threshold]) -> dict[str, Any]:
    """Grafana threshold steps for lines on one side: warning orange, critical red."""
    lines = sorted(thresholds, key=lambda t: t.value)
    if lines[0].comparison in (Comparison.ABOVE, Comparison.AT_OR_ABOVE):
        steps = [{"color": "green", "value": None}] + [{"color": _STEP_COLOURS[t.severity], "value": t.value} for t in lines]
    else:  # fires below the line: the bad colour first, green from the line up
        steps = [{"color": _STEP_COLOURS[lines[0].severity], "value": None}, {"color": "green", "value": lines[-1].value}]
    return {"mode": "absolute", "steps": steps}


def dashboard(*, uid: str, title: str, panels: Sequence[Panel]) -> dict[str, Any]:
    """A dashboard of `panels`, two to a row, each with the threshold lines of its alarms."""
    built = []
    for index, panel in enumerate(panels):
        defaults: dict[str, Any] = {"unit": panel.unit}
        drawable = [t for t in panel.thresholds if t.drawable]
        if drawable:
            defaults["thresholds"] = _steps(drawable)
            defaults["custom"] = {"thresholdsStyle": {"mode": "line"}}
        built.append(
            {
                "id": index + 1,
                "type": "timeseries",
                "title": panel.title,
                "description": "; ".join(t.manual for t in panel.thresholds),
                "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)},
                "datasource": panel.query["datasource"],
                "targets": [panel.query],
                "fieldConfig": {"defaults": defaults, "overrides": []},
            }
        )
    return {
        "uid": uid,
        "title": title,
        "tags": ["contractorlens"],
        "timezone": "browser",
        "schemaVersion": 39,
        "refresh": "1m",
        "time": {"from": "now-6h", "to": "now"},
        "panels": built,
    }


def dashboard_json(body: dict[str, Any]) -> str:
    """The committed file's form: sorted keys, two-space indent, final newline."""
    return json.dumps(body, indent=2, sort_keys=True) + "\n"


@dataclass(frozen=True)
class _Groups:
    load_balancer: ec2.SecurityGroup
    task: ec2.SecurityGroup
    file_system: ec2.SecurityGroup


class GrafanaService(Construct):
    """Grafana OSS on Fargate behind an internal load balancer.

    Reachable only from the configured VPN or office ranges, never from the internet;
    `<host_name>.<private zone>` names it inside the VPC. Its state (users, preferences) lives
    on an encrypted, retained EFS file system; its data sources (Prometheus through SigV4,
    CloudWatch) and the dashboard are provisioned from code at every start.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        cluster: ecs.ICluster,
        image: str,
        port: int,
        host_name: str,
        allowed_cidrs: Sequence[str],
        prometheus_endpoint: str,
        prometheus_arn: str,
        region: str,
        dashboard_body: dict[str, Any],
        admin_secret_name: str,
        key: kms.IKey,
        log_group: logs.ILogGroup,
        private_zone_name: str,
        deletion_protection: bool,
        certificate: acm.ICertificate | None = None,
        domain_name: str | None = None,
    ) -> None:
        """
        :param vpc: the VPC; Grafana and its load balancer use the private subnets.
        :param cluster: the ECS cluster to run in.
        :param image: the Grafana image, pinned.
        :param port: where Grafana and its load balancer listen (the manual: 3001).
        :param host_name: its name in the private zone (the manual: grafana-server).
        :param allowed_cidrs: the only ranges that may open `port`.
        :param prometheus_endpoint: the workspace's endpoint (ends with "/").
        :param prometheus_arn: the workspace, for the query permissions.
        :param region: where the workspace and the CloudWatch metrics are.
        :param dashboard_body: the dashboard to provision (from `dashboard`).
        :param admin_secret_name: Secrets Manager name of the generated admin password.
        :param key: encrypts the admin password.
        :param log_group: Grafana's log group.
        :param private_zone_name: the VPC's private DNS zone, e.g. contractorlens.internal.
        :param deletion_protection: of the internal load balancer.
        :param certificate: serve HTTPS on `port` with it, and redirect HTTP on port 80 there;
            with `domain_name`. Default: none (plain HTTP on `port`).
        :param domain_name: the certificate's name, e.g. grafana.example.com; a private zone of
            that name answers it inside the VPC. Default: none.
        """
        super().__init__(scope, construct_id)
        self._port = port
        groups = self._security_groups(vpc, allowed_cidrs, redirect=certificate is not None)
        self._state(vpc, groups.file_system, admin_secret_name=admin_secret_name, key=key)
        task = self._task()
        self._add_container(
            task, image=image, log_group=log_group, prometheus_endpoint=prometheus_endpoint, region=region, dashboard_body=dashboard_body
        )
        self._grant(task, prometheus_arn=prometheus_arn)
        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=cluster,
            task_definition=task,
            desired_count=1,  # Grafana's SQLite state on EFS wants a single writer
            min_healthy_percent=0,
            max_healthy_percent=100,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            security_groups=[groups.task],
            assign_public_ip=False,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
        )
        listener = self._load_balancer(vpc, groups.load_balancer, deletion_protection=deletion_protection, certificate=certificate)
        host = self._names(vpc, host_name=host_name, private_zone_name=private_zone_name, tls_name=domain_name if certificate else None)
        self.url = f"{'https' if certificate else 'http'}://{host}:{port}/d/{dashboard_body['uid']}"
        self._acknowledge_findings(task, listener, manual_address=f"http://{host_name}:{port}", https=certificate is not None)

    def _names(self, vpc: ec2.IVpc, *, host_name: str, private_zone_name: str, tls_name: str | None) -> str:
        """`host_name` in the VPC's private zone and, for HTTPS, the certificate's name in a private
        zone of its own (only that name, so the public zone's others still resolve in the VPC).
        Returns the name to open Grafana by."""
        alias = route53.RecordTarget.from_alias(targets.LoadBalancerTarget(self.load_balancer))
        zone = route53.PrivateHostedZone(self, "PrivateZone", zone_name=private_zone_name, vpc=vpc)
        route53.ARecord(self, "GrafanaServer", zone=zone, record_name=host_name, target=alias)
        if not tls_name:
            return f"{host_name}.{private_zone_name}"
        tls_zone = route53.PrivateHostedZone(self, "TlsZone", zone_name=tls_name, vpc=vpc)
        route53.ARecord(self, "GrafanaTls", zone=tls_zone, target=alias)
        return tls_name

    def _state(self, vpc: ec2.IVpc, group: ec2.ISecurityGroup, *, admin_secret_name: str, key: kms.IKey) -> None:
        """What Grafana keeps: its database on an encrypted, retained file system, and its admin password."""
        self.file_system = efs.FileSystem(
            self,
            "State",
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            security_group=group,
            encrypted=True,
            enable_automatic_backups=True,
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
            file_system_policy=None,
        )
        self.admin_secret = secretsmanager.Secret(
            self,
            "AdminPassword",
            secret_name=admin_secret_name,
            description="Grafana admin password (user admin); generated, change it in Grafana after first login",
            generate_secret_string=secretsmanager.SecretStringGenerator(exclude_punctuation=True, password_length=32),
            encryption_key=key,
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
        )

    def _security_groups(self, vpc: ec2.IVpc, allowed_cidrs: Sequence[str], *, redirect: bool) -> _Groups:
        """The load balancer admits `port` (and with `redirect` port 80) from the allowed ranges
        only; Grafana, from its load balancer; the file system, NFS from Grafana. Nothing else
        goes in or out."""
        port = self._port
        groups = _Groups(
            load_balancer=ec2.SecurityGroup(
                self, "LoadBalancerSecurityGroup", vpc=vpc, description=f"Grafana internal ALB: {port} from VPN or office only",
                allow_all_outbound=False,
            ),
            task=ec2.SecurityGroup(
                self, "TaskSecurityGroup", vpc=vpc, description=f"Grafana: {port} from its ALB; out to AWS APIs and EFS",
                allow_all_outbound=False,
            ),
            file_system=ec2.SecurityGroup(
                self, "FileSystemSecurityGroup", vpc=vpc, description="Grafana EFS: NFS from Grafana only",
                allow_all_outbound=False,
            ),
        )  # fmt: skip
        for cidr in allowed_cidrs:
            peer = ec2.Peer.ipv6(cidr) if ":" in cidr else ec2.Peer.ipv4(cidr)
            groups.load_balancer.add_ingress_rule(peer, ec2.Port.tcp(port), "Grafana from the VPN/office")
            if redirect:
                groups.load_balancer.add_ingress_rule(peer, ec2.Port.tcp(80), "HTTP from the VPN/office, redirected to HTTPS")
        groups.load_balancer.add_egress_rule(groups.task, ec2.Port.tcp(port), "To Grafana")
        keep_default_egress_closed(groups.load_balancer)
        groups.task.add_ingress_rule(groups.load_balancer, ec2.Port.tcp(port), "From Grafana's ALB")
        groups.task.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "AWS APIs: Prometheus, CloudWatch")
        groups.task.add_egress_rule(groups.file_system, ec2.Port.tcp(2049), "NFS to its EFS")
        groups.file_system.add_ingress_rule(groups.task, ec2.Port.tcp(2049), "NFS from Grafana")
        return groups

    def _task(self) -> ecs.FargateTaskDefinition:
        """Grafana's task, with its state on EFS through an access point."""
        access_point = self.file_system.add_access_point(
            "GrafanaAccessPoint",
            path="/grafana",
            posix_user=efs.PosixUser(uid=str(GRAFANA_UID), gid="0"),
            create_acl=efs.Acl(owner_uid=str(GRAFANA_UID), owner_gid="0", permissions="750"),
        )
        task = ecs.FargateTaskDefinition(self, "Task", cpu=512, memory_limit_mib=GRAFANA_MEMORY_MIB)
        # A bind mount on the task's ephemeral storage: the root file system is read-only, and
        # Grafana's start writes its provisioning files under /tmp (PROVISION_AND_RUN).
        task.add_volume(name=SCRATCH_VOLUME)
        task.add_volume(
            name="grafana-state",
            efs_volume_configuration=ecs.EfsVolumeConfiguration(
                file_system_id=self.file_system.file_system_id,
                transit_encryption="ENABLED",
                authorization_config=ecs.AuthorizationConfig(access_point_id=access_point.access_point_id, iam="ENABLED"),
            ),
        )
        return task

    def _add_container(
        self,
        task: ecs.FargateTaskDefinition,
        *,
        image: str,
        log_group: logs.ILogGroup,
        prometheus_endpoint: str,
        region: str,
        dashboard_body: dict[str, Any],
    ) -> None:
        """Grafana's container. It writes its data sources and the dashboard from its environment
        at every start, so they are always the ones in this repository."""
        datasources = _datasources(prometheus_endpoint=prometheus_endpoint, region=region)
        providers = {
            "apiVersion": 1,
            "providers": [{"name": "contractorlens", "type": "file", "options": {"path": "/tmp/grafana/dashboards"}}],
        }
        container = task.add_container(
            "Grafana",
            container_name="grafana",
            image=ecs.ContainerImage.from_registry(image),
            # The image's own user, said explicitly: never root (it writes only /tmp and its EFS).
            user=str(GRAFANA_UID),
            # It writes only /tmp (a scratch volume) and its EFS state; its logs go to the console
            # (GF_LOG_MODE), not to files (grafana-community/helm-charts#729 lists what a
            # read-only Grafana needs).
            readonly_root_filesystem=True,
            memory_limit_mib=GRAFANA_MEMORY_MIB,
            port_mappings=[ecs.PortMapping(container_port=self._port)],
            entry_point=["sh", "-c"],
            command=[PROVISION_AND_RUN],
            environment={
                "GF_SERVER_HTTP_PORT": str(self._port),
                "GF_LOG_MODE": "console",
                "GF_PATHS_PROVISIONING": "/tmp/grafana/provisioning",
                "GF_AUTH_SIGV4_AUTH_ENABLED": "true",
                "GF_AUTH_ANONYMOUS_ENABLED": "false",
                "GF_USERS_ALLOW_SIGN_UP": "false",
                "GF_SECURITY_ADMIN_USER": "admin",
                "DATASOURCES": json.dumps(datasources),
                "PROVIDERS": json.dumps(providers),
                "DASHBOARD": json.dumps(dashboard_body, sort_keys=True),
            },
            secrets={"GF_SECURITY_ADMIN_PASSWORD": ecs.Secret.from_secrets_manager(self.admin_secret)},
            logging=ecs.LogDrivers.aws_logs(stream_prefix="grafana", log_group=log_group),
            health_check=None,
        )
        container.add_mount_points(
            ecs.MountPoint(container_path="/var/lib/grafana", source_volume="grafana-state", read_only=False),
            ecs.MountPoint(container_path="/tmp", source_volume=SCRATCH_VOLUME, read_only=False),
        )

    def _grant(self, task: ecs.FargateTaskDefinition, *, prometheus_arn: str) -> None:
        """Mount and write its file system; query the workspace; read CloudWatch, as its data source documents."""
        self.file_system.grant(task.task_role, "elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite")
        # The file system's own policy lets only Grafana's tasks in, and only over TLS: CDK's default
        # statement admits any IAM principal that reaches a mount target (deny overrides it).
        self.file_system.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OnlyGrafanaTasks",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite", "elasticfilesystem:ClientRootAccess"],
                conditions={"ArnNotEquals": {"aws:PrincipalArn": task.task_role.role_arn}},
            )
        )
        self.file_system.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OnlyTls",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["*"],
                conditions={"Bool": {"aws:SecureTransport": "false"}},
            )
        )
        task.add_to_task_role_policy(
            iam.PolicyStatement(
                actions=["aps:QueryMetrics", "aps:GetSeries", "aps:GetLabels", "aps:GetMetricMetadata"],
                resources=[prometheus_arn],
            )
        )
        task.add_to_task_role_policy(
            iam.PolicyStatement(
                actions=[
                    "cloudwatch:DescribeAlarms", "cloudwatch:GetMetricData", "cloudwatch:GetMetricStatistics",
                    "cloudwatch:ListMetrics", "ec2:DescribeRegions", "tag:GetResources",
                ],
                resources=["*"],
            )
        )  # fmt: skip

    def _load_balancer(
        self, vpc: ec2.IVpc, group: ec2.ISecurityGroup, *, deletion_protection: bool, certificate: acm.ICertificate | None
    ) -> elbv2.ApplicationListener:
        """The internal load balancer in front of the service, and its listener: HTTPS with a
        certificate (and port 80 redirected to it), else HTTP."""
        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            internet_facing=False,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            security_group=group,
            drop_invalid_header_fields=True,
        )
        # CDK writes the attribute as false; left in, an update of the attributes would turn it off again.
        self.load_balancer.remove_attribute("deletion_protection.enabled")
        if deletion_protection:
            DeletionProtection.of_load_balancer(self, "DeletionProtection", load_balancer_arn=self.load_balancer.load_balancer_arn)
            for rule in ("NIST.800.53.R5-ELBDeletionProtectionEnabled", f"{CONTROL_TOWER}elbv2_deletion_protection_enabled_check"):
                acknowledge(self.load_balancer, rule, LATE_PROTECTION)
        # The construct id stays "Http" whatever the protocol: a listener of a new logical id would
        # be created on the same port before the old one is deleted, and the ALB refuses that.
        if certificate is None:
            listener = self.load_balancer.add_listener("Http", port=self._port, protocol=elbv2.ApplicationProtocol.HTTP, open=False)
        else:
            listener = self.load_balancer.add_listener(
                "Http",
                port=self._port,
                protocol=elbv2.ApplicationProtocol.HTTPS,
                certificates=[elbv2.ListenerCertificate.from_certificate_manager(certificate)],
                ssl_policy=TLS_POLICY,
                open=False,
            )
            self.load_balancer.add_redirect(source_port=80, target_port=self._port, open=False)
        listener.add_targets(
            "Grafana",
            port=self._port,
            protocol=elbv2.ApplicationProtocol.HTTP,
            targets=[self.service],
            health_check=elbv2.HealthCheck(path="/api/health", interval=Duration.seconds(15)),
            deregistration_delay=Duration.seconds(10),
        )
        return listener

    def _acknowledge_load_balancer(self, *, manual_address: str, https: bool) -> None:
        internal = (
            f"Grafana's load balancer is internal, in private subnets, and admits port {self._port} only from the "
            f"configured VPN/office ranges; the manual's address is {manual_address}"
        )
        findings = {
            "AwsSolutions-ELB2": f"{internal}; Grafana logs every request itself.",
            "NIST.800.53.R5-ELBLoggingEnabled": f"{internal}; Grafana logs every request itself.",
            f"{CONTROL_TOWER}elbv2_logging_enabled_check": f"{internal}; Grafana logs every request itself.",
            "NIST.800.53.R5-ALBWAFEnabled": f"{internal}; WAF protects the public API's load balancer.",
        }
        if https:
            findings["NIST.800.53.R5-ELBv2ACMCertificateRequired"] = (
                "Port 80 serves nothing: it answers every request with a permanent redirect to HTTPS on Grafana's port."
            )
        else:
            findings |= {
                "NIST.800.53.R5-ALBHttpToHttpsRedirection": f"{internal}; without a domain there is no certificate to serve.",
                f"{CONTROL_TOWER}alb_http_to_https_redirection_check": f"{internal}; without a domain there is no certificate.",
                "NIST.800.53.R5-ELBv2ACMCertificateRequired": f"{internal}; without a domain there is no certificate to serve.",
            }
        for rule, reason in findings.items():
            acknowledge(self.load_balancer, rule, reason)

    def _acknowledge_findings(
        self, task: ecs.TaskDefinition, listener: elbv2.ApplicationListener, *, manual_address: str, https: bool
    ) -> None:
        self._acknowledge_load_balancer(manual_address=manual_address, https=https)
        acknowledge(
            self.admin_secret,
            "AwsSolutions-SMG4",
            "Grafana keeps its admin password in its own database after first start; rotating the secret would not "
            "change it. Operators change it in Grafana (README: Grafana).",
        )
        acknowledge(
            self.admin_secret,
            "NIST.800.53.R5-SecretsManagerRotationEnabled",
            "Grafana keeps its admin password in its own database after first start; rotating the secret would not "
            "change it. Operators change it in Grafana (README: Grafana).",
        )
        acknowledge(
            task,
            "AwsSolutions-ECS2",
            "The plain environment variables are Grafana's settings and its provisioning files (data sources, "
            "dashboard), none secret; the admin password comes from Secrets Manager.",
        )
        acknowledge(
            self.file_system,
            "NIST.800.53.R5-EFSInBackupPlan",
            "Automatic backups are on: EFS puts the file system in AWS Backup's default daily plan "
            "(vault aws/efs/automatic-backup-vault), which this template does not declare.",
        )
        execution = task.obtain_execution_role().node.try_find_child("DefaultPolicy")
        if execution is not None:
            acknowledge(
                execution,
                "NIST.800.53.R5-IAMNoInlinePolicy",
                "CDK generates this policy for Grafana's execution role only: read its secret, write its log group.",
            )
        policy = task.task_role.node.try_find_child("DefaultPolicy")
        if policy is not None:
            acknowledge(
                policy,
                "AwsSolutions-IAM5[Resource::*]",
                "CloudWatch metric reads, DescribeRegions and tag:GetResources have no resource-level permissions; the "
                "statement is the read-only set Grafana's CloudWatch data source documents.",
            )
            acknowledge(policy, "NIST.800.53.R5-IAMNoInlinePolicy", "CDK generates this policy for Grafana's task role only.")
