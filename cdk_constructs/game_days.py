"""Fault Injection Service experiment templates for the game days, each with its own role.

Three experiments, started only by hand (`./scripts/deploy.sh game-day <experiment>`):
- `task-loss`: stop half of the API service's tasks (`aws:ecs:stop-task`, PERCENT(50));
- `db-failover`: reboot the database with a forced Multi-AZ failover (`aws:rds:reboot-db-instances`);
- `az-outage`: cut one Availability Zone's subnets off the network for a while
  (`aws:network:disrupt-connectivity`, scope all), which FIS restores when the action ends or
  the experiment stops. For a Fargate service and a Multi-AZ RDS instance this is the part of an
  AZ outage FIS can cause: it has no action that stops Fargate capacity in a zone.

Every template stops when one of `stop_alarm_arns` goes to ALARM and logs to `log_group`. A
template has an id, not a name; each is tagged `Name = <name_prefix>-<experiment>`, which the
runbook finds it by. Every property but ExperimentOptions.AccountTargeting updates in place, and
a template holds no name, so a failed create leaves nothing in the way of the retry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_fis as fis
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk_constructs.compliance import acknowledge

EXPERIMENTS = ("task-loss", "db-failover", "az-outage")
"""The experiments, in the order the README lists them."""
# FIS's quota of stop conditions per experiment template (AWS FIS user guide, "Quotas and
# limitations"); 5 is the figure as we know it, not confirmed against that page here.
MAX_STOP_CONDITIONS = 5
# The tag FIS puts on the network ACLs it creates for aws:network:disrupt-connectivity, and that
# AWS's managed policy AWSFaultInjectionSimulatorNetworkAccess scopes its writes with.
FIS_ACL_TAG = "managedByFIS"


class GameDayExperiments(Construct):
    """The three experiment templates and a least-privilege role for each."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name_prefix: str,
        cluster_name: str,
        service_name: str,
        db_instance_arn: str,
        force_failover: bool,
        subnet_tags: Mapping[str, str],
        outage_zone: str,
        outage_minutes: int,
        stop_alarm_arns: Sequence[str],
        log_group: logs.ILogGroup,
    ) -> None:
        """
        :param name_prefix: each template is tagged Name=<name_prefix>-<experiment>, e.g. contractorlens-task-loss.
        :param cluster_name: the ECS cluster of the API service.
        :param service_name: the API service, half of whose tasks `task-loss` stops.
        :param db_instance_arn: the database `db-failover` reboots.
        :param force_failover: reboot with failover to the standby; False for a single-AZ
            instance, which RDS refuses a failover for (a plain reboot then).
        :param subnet_tags: tags that select the environment's subnets (all tiers); `az-outage`
            takes those of them in `outage_zone`. Tags, not ids, so no stack exports its subnets to this one.
        :param outage_zone: the zone `az-outage` cuts off, e.g. us-west-2a.
        :param outage_minutes: how long it stays cut off.
        :param stop_alarm_arns: the alarms that stop any experiment (1 to 5, FIS's quota).
        :param log_group: where FIS logs each experiment.
        """
        super().__init__(scope, construct_id)
        if not 1 <= len(stop_alarm_arns) <= MAX_STOP_CONDITIONS:
            raise ValueError(f"{self.node.path}: {len(stop_alarm_arns)} stop alarms; FIS takes 1 to {MAX_STOP_CONDITIONS}")
        self._prefix = name_prefix
        self._stop_alarm_arns = list(stop_alarm_arns)
        self._log_group = log_group
        self.templates: dict[str, fis.CfnExperimentTemplate] = {}
        self.roles: dict[str, iam.Role] = {}
        self._task_loss(cluster_name, service_name)
        self._db_failover(db_instance_arn, force_failover)
        self._az_outage(subnet_tags, outage_zone, outage_minutes)

    def _task_loss(self, cluster_name: str, service_name: str) -> None:
        stack = Stack.of(self)
        cluster_arn = stack.format_arn(service="ecs", resource="cluster", resource_name=cluster_name)
        self._add(
            "task-loss",
            f"Game day: stop half of {service_name}'s tasks; ECS replaces them",
            targets={
                "ApiTasks": fis.CfnExperimentTemplate.ExperimentTemplateTargetProperty(
                    resource_type="aws:ecs:task",
                    selection_mode="PERCENT(50)",
                    parameters={"cluster": cluster_name, "service": service_name},
                )
            },
            actions={
                "StopTasks": fis.CfnExperimentTemplate.ExperimentTemplateActionProperty(
                    action_id="aws:ecs:stop-task", targets={"Tasks": "ApiTasks"}
                )
            },
            statements=[
                iam.PolicyStatement(actions=["ecs:ListTasks"], resources=["*"], conditions={"ArnEquals": {"ecs:cluster": cluster_arn}}),
                iam.PolicyStatement(
                    actions=["ecs:DescribeTasks", "ecs:StopTask"],
                    resources=[stack.format_arn(service="ecs", resource="task", resource_name=f"{cluster_name}/*")],
                ),
            ],
        )

    def _db_failover(self, db_instance_arn: str, force_failover: bool) -> None:
        self._add(
            "db-failover",
            "Game day: reboot the database " + ("with a forced failover to its standby" if force_failover else "(single-AZ: no failover)"),
            targets={
                "Database": fis.CfnExperimentTemplate.ExperimentTemplateTargetProperty(
                    resource_type="aws:rds:db", selection_mode="ALL", resource_arns=[db_instance_arn]
                )
            },
            actions={
                "Reboot": fis.CfnExperimentTemplate.ExperimentTemplateActionProperty(
                    action_id="aws:rds:reboot-db-instances",
                    parameters={"forceFailover": "true" if force_failover else "false"},
                    targets={"DBInstances": "Database"},
                )
            },
            statements=[iam.PolicyStatement(actions=["rds:RebootDBInstance", "rds:DescribeDBInstances"], resources=[db_instance_arn])],
        )

    def _az_outage(self, subnet_tags: Mapping[str, str], outage_zone: str, outage_minutes: int) -> None:
        self._add(
            "az-outage",
            f"Game day: cut {outage_zone}'s subnets off the network for {outage_minutes} min; FIS restores them",
            targets={
                "ZoneSubnets": fis.CfnExperimentTemplate.ExperimentTemplateTargetProperty(
                    resource_type="aws:ec2:subnet",
                    selection_mode="ALL",
                    resource_tags=dict(subnet_tags),
                    filters=[
                        fis.CfnExperimentTemplate.ExperimentTemplateTargetFilterProperty(path="AvailabilityZone", values=[outage_zone])
                    ],
                )
            },
            actions={
                "CutOff": fis.CfnExperimentTemplate.ExperimentTemplateActionProperty(
                    action_id="aws:network:disrupt-connectivity",
                    parameters={"duration": f"PT{outage_minutes}M", "scope": "all"},
                    targets={"Subnets": "ZoneSubnets"},
                )
            },
            statements=_network_statements(Stack.of(self)),
        )

    def _add(
        self,
        experiment: str,
        description: str,
        *,
        targets: Mapping[str, fis.CfnExperimentTemplate.ExperimentTemplateTargetProperty],
        actions: Mapping[str, fis.CfnExperimentTemplate.ExperimentTemplateActionProperty],
        statements: Sequence[iam.PolicyStatement],
    ) -> None:
        stack = Stack.of(self)
        construct_id = "".join(part.title() for part in experiment.split("-"))
        role = iam.Role(
            self,
            f"{construct_id}Role",
            description=f"What FIS may do in the {experiment} game day",
            # Only FIS, for an experiment of this account and region (the confused-deputy guard).
            assumed_by=iam.ServicePrincipal(
                "fis.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {"aws:SourceArn": stack.format_arn(service="fis", resource="experiment", resource_name="*")},
                },
            ),
        )
        granted = [*statements, *_log_statements(stack), _alarm_statement(self._stop_alarm_arns)]
        for statement in granted:
            role.add_to_policy(statement)
        template = fis.CfnExperimentTemplate(
            self,
            construct_id,
            description=description,
            role_arn=role.role_arn,
            targets=dict(targets),
            actions=dict(actions),
            stop_conditions=[
                fis.CfnExperimentTemplate.ExperimentTemplateStopConditionProperty(source="aws:cloudwatch:alarm", value=arn)
                for arn in self._stop_alarm_arns
            ],
            log_configuration=fis.CfnExperimentTemplate.ExperimentTemplateLogConfigurationProperty(
                log_schema_version=2,
                cloud_watch_logs_configuration={"LogGroupArn": self._log_group.log_group_arn},
            ),
            tags={"Name": f"{self._prefix}-{experiment}"},
        )
        # Made once its role may act (its policy is a child of the role), not merely exists.
        template.node.add_dependency(role)
        acknowledge(
            role.node.find_child("DefaultPolicy"),
            "NIST.800.53.R5-IAMNoInlinePolicy",
            "CDK generates this policy for this experiment's role only.",
        )
        for wildcard in sorted({resource for statement in granted for resource in statement.resources if "*" in resource}):
            acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::{wildcard}]",
                "FIS's documented permissions: task and network-ACL ids are not known before an experiment runs, and log "
                "delivery names log groups by wildcard; each is held to this account and region, the cluster or FIS's own ACLs",
            )
        self.templates[experiment] = template
        self.roles[experiment] = role


def _log_statements(stack: Stack) -> list[iam.PolicyStatement]:
    """FIS delivers experiment logs through CloudWatch Logs' log delivery, set up as the experiment
    role (AWS FIS user guide, "Experiment logging permissions"); the three policy actions must
    name log groups by wildcard (CloudWatch Logs user guide, "Logs sent to CloudWatch Logs")."""
    log_groups = stack.format_arn(service="logs", resource="log-group", resource_name="*", arn_format=ArnFormat.COLON_RESOURCE_NAME)
    return [
        iam.PolicyStatement(actions=["logs:CreateLogDelivery"], resources=["*"]),
        iam.PolicyStatement(
            actions=["logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"], resources=[log_groups]
        ),
    ]


def _alarm_statement(alarm_arns: Sequence[str]) -> iam.PolicyStatement:
    """The stop conditions' alarms, read while an experiment runs."""
    return iam.PolicyStatement(actions=["cloudwatch:DescribeAlarms"], resources=list(alarm_arns))


def _network_statements(stack: Stack) -> list[iam.PolicyStatement]:
    """aws:network:disrupt-connectivity: FIS creates a network ACL that denies all traffic, swaps it
    onto the subnets, and puts the original back. These follow AWS's managed policy
    AWSFaultInjectionSimulatorNetworkAccess, scoped to this account and region."""

    def arn(resource: str) -> str:
        return stack.format_arn(service="ec2", resource=resource, resource_name="*")

    own = {"StringEquals": {f"ec2:ResourceTag/{FIS_ACL_TAG}": "true"}}
    return [
        iam.PolicyStatement(
            actions=["ec2:CreateNetworkAcl"],
            resources=[arn("network-acl")],
            conditions={"StringEquals": {f"aws:RequestTag/{FIS_ACL_TAG}": "true"}},
        ),
        iam.PolicyStatement(actions=["ec2:CreateNetworkAcl"], resources=[arn("vpc")]),
        iam.PolicyStatement(
            actions=["ec2:CreateTags"],
            resources=[arn("network-acl")],
            conditions={"StringEquals": {"ec2:CreateAction": "CreateNetworkAcl"}},
        ),
        iam.PolicyStatement(actions=["ec2:CreateNetworkAclEntry", "ec2:DeleteNetworkAcl"], resources=[arn("network-acl")], conditions=own),
        iam.PolicyStatement(actions=["ec2:ReplaceNetworkAclAssociation"], resources=[arn("subnet"), arn("network-acl")]),
        iam.PolicyStatement(
            actions=[
                "ec2:DescribeNetworkAcls",
                "ec2:DescribeSubnets",
                "ec2:DescribeVpcs",
                "ec2:DescribeManagedPrefixLists",
                "ec2:GetManagedPrefixListEntries",
                # Targets chosen by tag are resolved through the Resource Groups Tagging API.
                "tag:GetResources",
            ],
            resources=["*"],
        ),
    ]
