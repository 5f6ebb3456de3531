"""The backend on ECS Fargate: cluster, task definition, service, logs, ECS Exec, autoscaling."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

from aws_cdk import CfnElement, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk_constructs.compliance import CONTROL_TOWER, acknowledge

CONTAINER_NAME = "api"


@dataclass(frozen=True)
class TaskSize:
    """Fargate size of one task and the port its container serves."""

    cpu: int
    memory_mib: int
    container_port: int
    sidecar_memory_mib: int = 0
    """What the task's other containers may use at most (their hard limits); the backend's own
    hard limit is the rest of `memory_mib`. Default: 0."""


@dataclass(frozen=True)
class Scaling:
    """Autoscaling bounds and the target-tracking goals."""

    min_tasks: int
    max_tasks: int
    cpu_percent: int
    memory_percent: int
    requests_per_target: int


class ApiService(Construct):
    """A Fargate service behind an ALB listener, rolled back by ECS when a deployment goes bad.

    Two mechanisms roll back: the deployment circuit breaker (tasks that never get healthy)
    and deployment alarms (tasks that are healthy but serve errors or slowly; `roll_back_on`).
    The desired count is left out of the template: autoscaling owns it, and a deploy must not
    reset a scaled-out service to the floor (aws/aws-cdk#3919). CloudFormation creates the
    service with one task; the scalable target, registered in the same deployment, raises it
    to the floor.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        security_group: ec2.ISecurityGroup,
        cluster_name: str,
        service_name: str,
        task_family: str,
        repository: ecr.IRepository,
        image_tag: str,
        size: TaskSize,
        environment: Mapping[str, str],
        secrets: Mapping[str, ecs.Secret],
        exec_key: kms.IKey,
        log_group: logs.ILogGroup,
        exec_log_group: logs.ILogGroup,
        listener: elbv2.ApplicationListener,
        health_check_path: str,
        secret_keys: Sequence[kms.IKey] = (),
        scaling: Scaling | None,
        user: str = "1000",
    ) -> None:
        """
        :param vpc: the VPC; tasks run in its private subnets, without public IPs.
        :param security_group: the tasks' group (contractorlens-app-sg).
        :param cluster_name: the ECS cluster (the manual: contractorlens).
        :param service_name: the ECS service, and the log streams' prefix (contractorlens).
        :param task_family: the task definition family (contractorlens).
        :param repository: where the image comes from.
        :param image_tag: the release to run.
        :param size: CPU, memory and the container's port.
        :param environment: plain settings for the container, in the task definition's order.
        :param secrets: settings injected from Secrets Manager at task start.
        :param exec_key: encrypts ECS Exec sessions. CDK lets CloudWatch Logs use this key for
            any log group of the account (its ECS Exec logging support does), so it should be a
            key of its own, not one that protects other data.
        :param log_group: the application's log group (manual: /ecs/contractorlens).
        :param exec_log_group: where ECS Exec sessions are logged.
        :param listener: the ALB listener that forwards to the service.
        :param health_check_path: what the load balancer asks for a task's health (the manual: /health).
        :param secret_keys: keys of other stacks that encrypt `secrets`; decrypt is granted on the
            execution role, so those stacks' key policies never name this one's role (a cycle).
            Default: none.
        :param scaling: autoscaling bounds and targets; None keeps the service at zero tasks
            (a pilot light that a later deploy scales up).
        :param user: the non-root user (uid, or uid:gid) the container runs as. Default: "1000".
        """
        super().__init__(scope, construct_id)
        # As nag names it in a finding; resolved now, so pin the group's logical id before this.
        self._exec_log_group_id = Stack.of(self).resolve(cast(CfnElement, exec_log_group.node.default_child).logical_id)
        self.cluster = self._cluster(cluster_name, vpc=vpc, exec_key=exec_key, exec_log_group=exec_log_group)
        self.task_definition = self._task(task_family, size)
        self.container = self.task_definition.add_container(
            "Api",
            container_name=CONTAINER_NAME,
            image=ecs.ContainerImage.from_ecr_repository(repository, image_tag),
            port_mappings=[ecs.PortMapping(container_port=size.container_port, name="http")],
            environment={**environment, "PORT": str(size.container_port)},
            secrets=dict(secrets),
            logging=ecs.LogDrivers.aws_logs(stream_prefix=service_name, log_group=log_group),
            essential=True,
            # Never root, whatever the image says (ECS Exec's agent still runs as root beside it).
            user=user,
            # A hard limit (Control Tower CT.ECS.PR.7): the backend cannot take the memory its
            # sidecars were given.
            memory_limit_mib=size.memory_mib - size.sidecar_memory_mib,
        )
        self.service = self._service(service_name, security_group, zero_tasks=scaling is None)
        if secret_keys:
            # Only through Secrets Manager, for the secrets it injects: not a key to decrypt anything with.
            self.task_definition.obtain_execution_role().add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["kms:Decrypt"],
                    resources=[key.key_arn for key in secret_keys],
                    conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{Stack.of(self).region}.amazonaws.com"}},
                )
            )
        self.target_group = self._register(listener, port=size.container_port, health_check_path=health_check_path)
        if scaling is not None:
            self._scale(scaling)
        self._acknowledge_findings()

    def _cluster(self, name: str, *, vpc: ec2.IVpc, exec_key: kms.IKey, exec_log_group: logs.ILogGroup) -> ecs.Cluster:
        return ecs.Cluster(
            self,
            "Cluster",
            vpc=vpc,
            cluster_name=name,
            container_insights_v2=ecs.ContainerInsights.ENABLED,
            # ECS Exec is the Fargate counterpart of the manual's "EC2 Instance Connect, no
            # persistent keys": sessions are IAM-authorised, encrypted and logged.
            execute_command_configuration=ecs.ExecuteCommandConfiguration(
                kms_key=exec_key,
                logging=ecs.ExecuteCommandLogging.OVERRIDE,
                log_configuration=ecs.ExecuteCommandLogConfiguration(
                    cloud_watch_log_group=exec_log_group, cloud_watch_encryption_enabled=True
                ),
            ),
        )

    def _scale(self, scaling: Scaling) -> None:
        capacity = self.service.auto_scale_task_count(min_capacity=scaling.min_tasks, max_capacity=scaling.max_tasks)
        capacity.scale_on_cpu_utilization("Cpu", target_utilization_percent=scaling.cpu_percent)
        capacity.scale_on_memory_utilization("Memory", target_utilization_percent=scaling.memory_percent)
        capacity.scale_on_request_count("Requests", requests_per_target=scaling.requests_per_target, target_group=self.target_group)

    def _task(self, family: str, size: TaskSize) -> ecs.FargateTaskDefinition:
        task = ecs.FargateTaskDefinition(
            self,
            "Task",
            family=family,
            cpu=size.cpu,
            memory_limit_mib=size.memory_mib,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.X86_64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        # A release replaces the task definition, and CloudFormation then deregisters the old
        # revision (aws/aws-cdk#24372): `deploy.sh rollback` would find nothing ACTIVE to go back
        # to. UpdateReplacePolicy Retain keeps earlier revisions ACTIVE, and so does the deletion
        # policy, as cfn-lint's W3011 asks (a revision costs nothing), except in a failed first
        # create, which leaves none behind.
        task.apply_removal_policy(RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE)
        return task

    def _service(self, name: str, security_group: ec2.ISecurityGroup, *, zero_tasks: bool) -> ecs.FargateService:
        return ecs.FargateService(
            self,
            "Service",
            cluster=self.cluster,
            service_name=name,
            task_definition=self.task_definition,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            security_groups=[security_group],
            assign_public_ip=False,
            min_healthy_percent=100,
            max_healthy_percent=200,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            desired_count=0 if zero_tasks else None,
            deployment_controller=ecs.DeploymentController(type=ecs.DeploymentControllerType.ECS),
            health_check_grace_period=Duration.seconds(60),
            enable_execute_command=True,
            propagate_tags=ecs.PropagatedTagSource.SERVICE,
        )

    def _register(self, listener: elbv2.ApplicationListener, *, port: int, health_check_path: str) -> elbv2.ApplicationTargetGroup:
        """The service as the listener's target: a new task is healthy after 2 checks 10 s apart;
        a draining one leaves within 30 s."""
        return listener.add_targets(
            "Api",
            port=port,
            protocol=elbv2.ApplicationProtocol.HTTP,
            targets=[self.service.load_balancer_target(container_name=CONTAINER_NAME, container_port=port)],
            health_check=elbv2.HealthCheck(
                path=health_check_path,
                interval=Duration.seconds(10),
                timeout=Duration.seconds(5),
                healthy_threshold_count=2,
                unhealthy_threshold_count=3,
                healthy_http_codes="200",
            ),
            deregistration_delay=Duration.seconds(30),
        )

    def roll_back_on(self, alarms: Sequence[cloudwatch.IAlarm]) -> None:
        """Roll a deployment back when any of `alarms` fires during it (besides the circuit
        breaker, which catches tasks that never get healthy). The alarms are created first."""
        self.service.enable_deployment_alarms([alarm.alarm_name for alarm in alarms], behavior=ecs.AlarmBehavior.ROLLBACK_ON_ALARM)
        for alarm in alarms:
            self.service.node.add_dependency(alarm)

    def _acknowledge_findings(self) -> None:
        acknowledge(
            self.task_definition,
            f"{CONTROL_TOWER}ecs_containers_readonly_access_check",
            "ECS Exec, the way on-call reaches a task and the database, needs a writable root file system in "
            "the container: its agent writes under /var/lib/amazon/ssm (aws/containers-roadmap#1359).",
        )
        acknowledge(
            self.task_definition,
            "AwsSolutions-ECS2",
            "The plain environment variables are non-secret settings (port, database host and name, Firebase "
            "project id); the database credentials and the Gemini key come from Secrets Manager.",
        )
        task_role_policy = self.task_definition.task_role.node.try_find_child("DefaultPolicy")
        if task_role_policy is not None:
            acknowledge(
                task_role_policy,
                "AwsSolutions-IAM5[Resource::*]",
                "ECS Exec's ssmmessages actions (CreateControlChannel, CreateDataChannel, OpenControlChannel, "
                "OpenDataChannel) and logs:DescribeLogGroups, which it calls before logging a session, have no "
                "resource-level permissions; AWS documents Resource '*' for them.",
            )
            acknowledge(
                task_role_policy,
                f"AwsSolutions-IAM5[Resource::arn:aws:logs:{Stack.of(self).region}:{Stack.of(self).account}:"
                f"log-group:<{self._exec_log_group_id}>:*]",
                "ECS Exec writes each session to a new stream of its one log group; stream names are not known "
                "in advance, so the statement covers the group's streams and nothing else.",
            )
            acknowledge(
                task_role_policy,
                "NIST.800.53.R5-IAMNoInlinePolicy",
                "CDK generates this policy for this task role only, from the grants in this construct.",
            )
        execution_policy = self.task_definition.obtain_execution_role().node.try_find_child("DefaultPolicy")
        if execution_policy is not None:
            acknowledge(
                execution_policy,
                "AwsSolutions-IAM5[Resource::*]",
                "ecr:GetAuthorizationToken has no resource-level permissions (AWS documents Resource '*'); "
                "image pulls themselves are limited to this repository.",
            )
            acknowledge(
                execution_policy,
                "NIST.800.53.R5-IAMNoInlinePolicy",
                "CDK generates this policy for the execution role only: pull this repository's images, read "
                "these secrets, write this log group.",
            )
