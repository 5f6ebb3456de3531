"""Grafana on port 3001: the `contractorlens-prod` dashboard, its data sources, and the service."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aws_cdk import Duration, RemovalPolicy
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

from cdk_constructs.compliance import acknowledge
from cdk_constructs.prometheus import ESTIMATES, GEMINI_DURATION, HTTP_DURATION, HTTP_REQUESTS
from cdk_constructs.protection import LATE_PROTECTION, DeletionProtection
from config import EnvironmentConfig
from config.manual import GRAFANA_HOST, GRAFANA_PORT
from config.thresholds import THRESHOLDS

DASHBOARD_DIR = Path(__file__).resolve().parents[1] / "grafana" / "dashboards"
PROMETHEUS_UID, CLOUDWATCH_UID = "prometheus", "cloudwatch"
GRAFANA_UID = 472  # the grafana user of the official image


def _steps(*keys: str) -> dict[str, Any]:
    """Grafana threshold steps for the table's lines `keys` (one direction): warning orange, critical red."""
    lines = sorted((THRESHOLDS[key] for key in keys), key=lambda t: t.value)
    color = {"warning": "orange", "critical": "red"}
    if lines[0].comparison in (">", ">="):
        steps = [{"color": "green", "value": None}] + [{"color": color[t.severity.value], "value": t.value} for t in lines]
    else:  # fires below the line: the bad colour first, green from the line up
        steps = [{"color": color[lines[0].severity.value], "value": None}, {"color": "green", "value": lines[-1].value}]
    return {"mode": "absolute", "steps": steps}


def _prometheus(expr: str) -> dict[str, Any]:
    return {"datasource": {"type": "prometheus", "uid": PROMETHEUS_UID}, "expr": expr, "refId": "A"}


def _cloudwatch(namespace: str, metric: str, dimensions: dict[str, str], statistic: str, region: str) -> dict[str, Any]:
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


def dashboard(*, uid: str, title: str, region: str, cluster: str, service: str, db_instance: str) -> dict[str, Any]:
    """The dashboard: the manual's metrics, each with the threshold of its CloudWatch alarm."""
    panels = [
        ("API response time p95 (s)", _prometheus(
            f"histogram_quantile(0.95, sum by (le) (rate({HTTP_DURATION}_bucket[5m])))"), ("api-p95-latency",), "s"),
        ("5xx error rate (%)", _prometheus(
            f'100 * sum(rate({HTTP_REQUESTS}{{status=~"5.."}}[5m])) / sum(rate({HTTP_REQUESTS}[5m]))'),
            ("api-error-rate", "api-error-rate-critical"), "percent"),
        ("Throughput (requests/min)", _prometheus(f"60 * sum(rate({HTTP_REQUESTS}[5m]))"), (), "reqpm"),
        ("Running tasks", _cloudwatch("ECS/ContainerInsights", "RunningTaskCount",
            {"ClusterName": cluster, "ServiceName": service}, "Minimum", region), ("running-tasks",), "none"),
        ("Database CPU (%)", _cloudwatch("AWS/RDS", "CPUUtilization",
            {"DBInstanceIdentifier": db_instance}, "Average", region), ("db-cpu",), "percent"),
        ("Database connections", _cloudwatch("AWS/RDS", "DatabaseConnections",
            {"DBInstanceIdentifier": db_instance}, "Maximum", region), ("db-connections",), "none"),
        ("Gemini API latency (s, average)", _prometheus(
            f"sum(rate({GEMINI_DURATION}_sum[5m])) / sum(rate({GEMINI_DURATION}_count[5m]))"), ("gemini-latency",), "s"),
        ("Estimates generated per hour", _prometheus(f"sum(increase({ESTIMATES}[1h]))"), ("estimates-per-hour",), "none"),
    ]  # fmt: skip
    built = []
    for index, (panel_title, query, keys, unit) in enumerate(panels):
        defaults: dict[str, Any] = {"unit": unit}
        if keys:
            defaults["thresholds"] = _steps(*keys)
            defaults["custom"] = {"thresholdsStyle": {"mode": "line"}}
        built.append(
            {
                "id": index + 1,
                "type": "timeseries",
                "title": panel_title,
                "description": "; ".join(THRESHOLDS[k].manual for k in keys) if keys else THRESHOLDS["request-throughput"].manual,
                "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)},
                "datasource": query["datasource"],
                "targets": [query],
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


def environment_dashboard(cfg: EnvironmentConfig) -> dict[str, Any]:
    """The dashboard of `cfg`; production's is committed as grafana/dashboards/contractorlens-prod.json."""
    names = cfg.names
    return dashboard(
        uid=names.grafana_dashboard_uid,
        title=f"ContractorLens {cfg.name}",
        region=cfg.region,
        cluster=names.cluster,
        service=names.service,
        db_instance=names.db_instance,
    )


def dashboard_json(body: dict[str, Any]) -> str:
    """The committed file's form: sorted keys, two-space indent, final newline."""
    return json.dumps(body, indent=2, sort_keys=True) + "\n"


class GrafanaService(Construct):
    """Grafana OSS on Fargate, on port 3001, behind an internal load balancer.

    Reachable only from the configured VPN or office ranges, never from the internet;
    `grafana-server.<private zone>` names it inside the VPC. Its state (users, preferences)
    lives on an encrypted, retained EFS file system; its data sources (Prometheus through
    SigV4, CloudWatch) and the dashboard are provisioned from code at every start.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        cluster: ecs.ICluster,
        image: str,
        allowed_cidrs: list[str],
        prometheus_endpoint: str,
        prometheus_arn: str,
        region: str,
        dashboard_body: dict[str, Any],
        admin_secret_name: str,
        key: kms.IKey,
        log_group: logs.ILogGroup,
        private_zone_name: str,
        deletion_protection: bool,
    ) -> None:
        """
        :param vpc: the VPC; Grafana and its load balancer use the private subnets.
        :param cluster: the ECS cluster to run in.
        :param image: the Grafana image, pinned.
        :param allowed_cidrs: the only ranges that may open port 3001.
        :param prometheus_endpoint: the workspace's endpoint (ends with "/").
        :param prometheus_arn: the workspace, for the query permissions.
        :param region: where the workspace and the CloudWatch metrics are.
        :param dashboard_body: the dashboard to provision (from `dashboard`).
        :param admin_secret_name: Secrets Manager name of the generated admin password.
        :param key: encrypts the admin password.
        :param log_group: Grafana's log group.
        :param private_zone_name: the VPC's private DNS zone, e.g. contractorlens.internal.
        :param deletion_protection: of the internal load balancer.
        """
        super().__init__(scope, construct_id)
        alb_group = ec2.SecurityGroup(
            self, "LoadBalancerSecurityGroup", vpc=vpc, description=f"Grafana internal ALB: {GRAFANA_PORT} from VPN or office only",
            allow_all_outbound=False,
        )  # fmt: skip
        task_group = ec2.SecurityGroup(
            self, "TaskSecurityGroup", vpc=vpc, description=f"Grafana: {GRAFANA_PORT} from its ALB; out to AWS APIs and EFS",
            allow_all_outbound=False,
        )  # fmt: skip
        fs_group = ec2.SecurityGroup(
            self, "FileSystemSecurityGroup", vpc=vpc, description="Grafana EFS: NFS from Grafana only",
            allow_all_outbound=False,
        )  # fmt: skip
        for cidr in allowed_cidrs:
            peer = ec2.Peer.ipv6(cidr) if ":" in cidr else ec2.Peer.ipv4(cidr)
            alb_group.add_ingress_rule(peer, ec2.Port.tcp(GRAFANA_PORT), "Grafana from the VPN/office")
        alb_group.add_egress_rule(task_group, ec2.Port.tcp(GRAFANA_PORT), "To Grafana")
        task_group.add_ingress_rule(alb_group, ec2.Port.tcp(GRAFANA_PORT), "From Grafana's ALB")
        task_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "AWS APIs: Prometheus, CloudWatch")
        task_group.add_egress_rule(fs_group, ec2.Port.tcp(2049), "NFS to its EFS")
        fs_group.add_ingress_rule(task_group, ec2.Port.tcp(2049), "NFS from Grafana")

        self.file_system = efs.FileSystem(
            self,
            "State",
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            security_group=fs_group,
            encrypted=True,
            enable_automatic_backups=True,
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
            file_system_policy=None,
        )
        access_point = self.file_system.add_access_point(
            "GrafanaAccessPoint",
            path="/grafana",
            posix_user=efs.PosixUser(uid=str(GRAFANA_UID), gid="0"),
            create_acl=efs.Acl(owner_uid=str(GRAFANA_UID), owner_gid="0", permissions="750"),
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

        task = ecs.FargateTaskDefinition(self, "Task", cpu=512, memory_limit_mib=1024)
        task.add_volume(
            name="grafana-state",
            efs_volume_configuration=ecs.EfsVolumeConfiguration(
                file_system_id=self.file_system.file_system_id,
                transit_encryption="ENABLED",
                authorization_config=ecs.AuthorizationConfig(access_point_id=access_point.access_point_id, iam="ENABLED"),
            ),
        )
        datasources = {
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
        providers = {
            "apiVersion": 1,
            "providers": [{"name": "contractorlens", "type": "file", "options": {"path": "/tmp/grafana/dashboards"}}],
        }
        container = task.add_container(
            "Grafana",
            container_name="grafana",
            image=ecs.ContainerImage.from_registry(image),
            port_mappings=[ecs.PortMapping(container_port=GRAFANA_PORT)],
            # Provisioning is written from the task definition at every start, so the data
            # sources and the dashboard are always the ones in this repository.
            entry_point=["sh", "-c"],
            command=[
                (
                    "mkdir -p /tmp/grafana/provisioning/datasources /tmp/grafana/provisioning/dashboards"
                    " /tmp/grafana/dashboards"
                    ' && printf "%s" "$DATASOURCES" > /tmp/grafana/provisioning/datasources/contractorlens.yaml'
                    ' && printf "%s" "$PROVIDERS" > /tmp/grafana/provisioning/dashboards/contractorlens.yaml'
                    ' && printf "%s" "$DASHBOARD" > /tmp/grafana/dashboards/contractorlens.json'
                    " && exec /run.sh"
                )
            ],
            environment={
                "GF_SERVER_HTTP_PORT": str(GRAFANA_PORT),
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
        container.add_mount_points(ecs.MountPoint(container_path="/var/lib/grafana", source_volume="grafana-state", read_only=False))
        self.file_system.grant(task.task_role, "elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite")
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

        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=cluster,
            task_definition=task,
            desired_count=1,  # Grafana's SQLite state on EFS wants a single writer
            min_healthy_percent=0,
            max_healthy_percent=100,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            security_groups=[task_group],
            assign_public_ip=False,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
        )
        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            internet_facing=False,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            security_group=alb_group,
            drop_invalid_header_fields=True,
        )
        # CDK writes the attribute as false; left in, an update of the attributes would turn it off again.
        self.load_balancer.remove_attribute("deletion_protection.enabled")
        if deletion_protection:
            DeletionProtection.of_load_balancer(self, "DeletionProtection", load_balancer_arn=self.load_balancer.load_balancer_arn)
            acknowledge(self.load_balancer, "NIST.800.53.R5-ELBDeletionProtectionEnabled", LATE_PROTECTION)
        listener = self.load_balancer.add_listener("Http", port=GRAFANA_PORT, protocol=elbv2.ApplicationProtocol.HTTP, open=False)
        listener.add_targets(
            "Grafana",
            port=GRAFANA_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            targets=[self.service],
            health_check=elbv2.HealthCheck(path="/api/health", interval=Duration.seconds(15)),
            deregistration_delay=Duration.seconds(10),
        )
        zone = route53.PrivateHostedZone(self, "PrivateZone", zone_name=private_zone_name, vpc=vpc)
        route53.ARecord(
            self, "GrafanaServer", zone=zone, record_name=GRAFANA_HOST,
            target=route53.RecordTarget.from_alias(targets.LoadBalancerTarget(self.load_balancer)),
        )  # fmt: skip
        self.url = f"http://{GRAFANA_HOST}.{private_zone_name}:{GRAFANA_PORT}/d/{dashboard_body['uid']}"
        self._acknowledge_findings(task, listener)

    def _acknowledge_findings(self, task: ecs.TaskDefinition, listener: elbv2.ApplicationListener) -> None:
        internal = (
            f"Grafana's load balancer is internal, in private subnets, and admits port {GRAFANA_PORT} only from the "
            f"configured VPN/office ranges; the manual's address is http://{GRAFANA_HOST}:{GRAFANA_PORT}"
        )
        for rule, reason in {
            "AwsSolutions-ELB2": f"{internal}; Grafana logs every request itself.",
            "NIST.800.53.R5-ALBHttpToHttpsRedirection": f"{internal}.",
            "NIST.800.53.R5-ELBv2ACMCertificateRequired": f"{internal}; a public certificate cannot name grafana-server.",
            "NIST.800.53.R5-ELBLoggingEnabled": f"{internal}; Grafana logs every request itself.",
            "NIST.800.53.R5-ALBWAFEnabled": f"{internal}; WAF protects the public API's load balancer.",
        }.items():
            acknowledge(self.load_balancer, rule, reason)
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
