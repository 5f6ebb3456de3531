"""What CloudFormation's resource handlers check and do around one resource: a custom name that
is taken, a deletion the service refuses, a snapshot before a deletion, and which property
changes replace a resource."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.emulation.common import client

EXTENSIONS = {
    "named resources": "creating a resource whose custom name is taken outside the stack fails with AlreadyExists, as the registry handlers do (log groups, secrets, repositories, DB instances and groups, parameters, alarms, dashboards, topics, clusters, aliases, buckets, roles)",
    "deletions the service refuses": "a DB instance with deletion protection, a load balancer with deletion protection, a non-empty bucket or repository: the deletion fails with the service's message",
    "Snapshot": "a DB instance is deleted with a final snapshot named after the stack and resource (the RDS handler's `<stack>-snapshot-<logical id>-...`)",
}

# The property that names a resource, for the types our stacks give a custom name.
NAME_PROPERTIES = {
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::ECR::Repository": "RepositoryName",
    "AWS::RDS::DBInstance": "DBInstanceIdentifier",
    "AWS::RDS::DBSubnetGroup": "DBSubnetGroupName",
    "AWS::RDS::DBParameterGroup": "DBParameterGroupName",
    "AWS::SSM::Parameter": "Name",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::CloudWatch::CompositeAlarm": "AlarmName",
    "AWS::CloudWatch::Dashboard": "DashboardName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::ECS::Cluster": "ClusterName",
    "AWS::ECS::Service": "ServiceName",
    "AWS::KMS::Alias": "AliasName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::IAM::Role": "RoleName",
    "AWS::EC2::SecurityGroup": "GroupName",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "Name",
    "AWS::ElasticLoadBalancingV2::TargetGroup": "Name",
}


def _exists(resource_type: str, name: str, props: dict[str, Any], account: str, region: str) -> bool:
    if resource_type == "AWS::Logs::LogGroup":
        from moto.logs.models import logs_backends

        return name in logs_backends[account][region].groups
    if resource_type == "AWS::SecretsManager::Secret":
        from moto.secretsmanager.models import secretsmanager_backends

        # A secret scheduled for deletion still holds its name.
        return name in secretsmanager_backends[account][region].secrets
    if resource_type == "AWS::ECR::Repository":
        from moto.ecr.models import ecr_backends

        return name in ecr_backends[account][region].repositories
    if resource_type.startswith("AWS::RDS::"):
        from moto.rds.models import rds_backends

        backend = rds_backends[account][region]
        found = {
            "AWS::RDS::DBInstance": backend.databases,
            "AWS::RDS::DBSubnetGroup": backend.subnet_groups,
            "AWS::RDS::DBParameterGroup": backend.db_parameter_groups,
        }[resource_type]
        return name.lower() in {k.lower() for k in found}
    if resource_type == "AWS::SSM::Parameter":
        from moto.ssm.models import ssm_backends

        return ssm_backends[account][region].get_parameter(name) is not None
    if resource_type in ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm"):
        from moto.cloudwatch.models import cloudwatch_backends

        return name in cloudwatch_backends[account][region].alarms
    if resource_type == "AWS::CloudWatch::Dashboard":
        from moto.cloudwatch.models import cloudwatch_backends

        return name in cloudwatch_backends[account][region].dashboards
    if resource_type == "AWS::SNS::Topic":
        from moto.sns.models import sns_backends

        return any(arn.rsplit(":", 1)[1] == name for arn in sns_backends[account][region].topics)
    if resource_type == "AWS::ECS::Cluster":
        from moto.ecs.models import ecs_backends

        cluster = ecs_backends[account][region].clusters.get(name)
        return cluster is not None and cluster.status == "ACTIVE"
    if resource_type == "AWS::ECS::Service":
        from moto.ecs.models import ecs_backends

        cluster = str(props.get("Cluster", "default")).rsplit("/", 1)[-1]
        service = ecs_backends[account][region].services.get(f"{cluster}:{name}")
        return service is not None and service.status != "INACTIVE"
    if resource_type == "AWS::KMS::Alias":
        from moto.kms.models import kms_backends

        return kms_backends[account][region].alias_exists(name)
    if resource_type == "AWS::S3::Bucket":
        from moto.s3.models import s3_backends

        return name in s3_backends[account]["aws"].buckets
    if resource_type == "AWS::IAM::Role":
        from moto.iam.models import iam_backends

        return any(role.name == name for role in iam_backends[account]["global"].roles.values())
    return False  # security groups and load balancers: moto's own create refuses a duplicate


def already_exists(resource_type: str, props: dict[str, Any], account: str, region: str) -> str | None:
    """The custom name of a resource about to be created, when something outside the stack has it."""
    prop = NAME_PROPERTIES.get(resource_type)
    name = props.get(prop) if prop else None
    if not isinstance(name, str) or not name:
        return None
    return name if _exists(resource_type, name, props, account, region) else None


def replacement_properties(old: dict[str, Any], new: dict[str, Any], region: str, *, named_only: bool = False) -> list[str]:
    """The create-only properties whose change replaces the resource; with `named_only`, the
    custom name that makes the replacement impossible."""
    from review.diff import _changed_paths, _replaces, create_only

    if old["Type"] != new["Type"]:
        return ["Type"]
    paths = list(_changed_paths(old.get("Properties", {}), new.get("Properties", {})))
    replaced = _replaces(paths, create_only(new["Type"], region))
    if not named_only:
        return replaced
    prop = NAME_PROPERTIES.get(new["Type"])
    return [prop] if replaced and prop and new.get("Properties", {}).get(prop) else []


# --- deletion --------------------------------------------------------------------------------------


def _delete_db_instance(stack: Any, logical_id: str, instance: Any, props: dict[str, Any], snapshot: bool) -> None:
    from moto.moto_api._internal import mock_random

    from sandbox.emulation.rds import by_physical_id

    rds = client("rds", stack.region_name)
    # By the physical id, as the handler: after a rename outside the stack nothing has it (the
    # handler's NotFound, which CloudFormation takes as deleted), or something else does.
    instance = by_physical_id(instance, stack.account_id, stack.region_name)
    if instance is None:
        return
    identifier = instance.db_instance_identifier
    # The handler takes no final snapshot of a read replica, whatever the policy (DeleteHandler).
    snapshot = snapshot and not instance.is_replica
    kwargs: dict[str, Any] = {"DBInstanceIdentifier": identifier, "SkipFinalSnapshot": not snapshot}
    if snapshot:
        kwargs["FinalDBSnapshotIdentifier"] = f"{stack.name}-snapshot-{logical_id}-{mock_random.get_random_hex(12)}".lower()[:255]
    rds.delete_db_instance(**kwargs)


def _delete_load_balancer(stack: Any, logical_id: str, instance: Any, props: dict[str, Any], snapshot: bool) -> None:
    elbv2 = client("elbv2", stack.region_name)
    attributes = elbv2.describe_load_balancer_attributes(LoadBalancerArn=instance.arn)["Attributes"]
    if {"Key": "deletion_protection.enabled", "Value": "true"} in attributes:
        from moto.elbv2.exceptions import ELBClientError

        raise ELBClientError(
            "OperationNotPermitted",
            f"Load balancer '{instance.arn}' cannot be deleted because deletion protection is enabled",
        )
    elbv2.delete_load_balancer(LoadBalancerArn=instance.arn)


def _delete_bucket(stack: Any, logical_id: str, instance: Any, props: dict[str, Any], snapshot: bool) -> None:
    client("s3", stack.region_name).delete_bucket(Bucket=instance.name)  # BucketNotEmpty when it holds objects


def _delete_repository(stack: Any, logical_id: str, instance: Any, props: dict[str, Any], snapshot: bool) -> None:
    force = str(props.get("EmptyOnDelete", "false")).lower() == "true"
    client("ecr", stack.region_name).delete_repository(repositoryName=instance.name, force=force)


def _delete_log_group(stack: Any, logical_id: str, instance: Any, props: dict[str, Any], snapshot: bool) -> None:
    client("logs", stack.region_name).delete_log_group(logGroupName=instance.name)


def _delete_parameter(stack: Any, logical_id: str, instance: Any, props: dict[str, Any], snapshot: bool) -> None:
    client("ssm", stack.region_name).delete_parameter(Name=instance.name)


def _delete_key(stack: Any, logical_id: str, instance: Any, props: dict[str, Any], snapshot: bool) -> None:
    days = int(props.get("PendingWindowInDays", 30))
    client("kms", stack.region_name).schedule_key_deletion(KeyId=instance.id, PendingWindowInDays=days)


def _delete_service(stack: Any, logical_id: str, instance: Any, props: dict[str, Any], snapshot: bool) -> None:
    ecs = client("ecs", stack.region_name)
    ecs.delete_service(cluster=instance.cluster_name, service=instance.name, force=True)


def _delete_cluster(stack: Any, logical_id: str, instance: Any, props: dict[str, Any], snapshot: bool) -> None:
    client("ecs", stack.region_name).delete_cluster(cluster=instance.name)


def _deregister_task_definition(stack: Any, logical_id: str, instance: Any, props: dict[str, Any], snapshot: bool) -> None:
    client("ecs", stack.region_name).deregister_task_definition(taskDefinition=instance.arn)


Deleter = Callable[[Any, str, Any, dict[str, Any], bool], None]
DELETERS: dict[str, Deleter] = {
    "AWS::RDS::DBInstance": _delete_db_instance,
    "AWS::ElasticLoadBalancingV2::LoadBalancer": _delete_load_balancer,
    "AWS::S3::Bucket": _delete_bucket,
    "AWS::ECR::Repository": _delete_repository,
    "AWS::Logs::LogGroup": _delete_log_group,
    "AWS::SSM::Parameter": _delete_parameter,
    "AWS::KMS::Key": _delete_key,
    "AWS::ECS::Service": _delete_service,
    "AWS::ECS::Cluster": _delete_cluster,
    "AWS::ECS::TaskDefinition": _deregister_task_definition,
}


def delete_physical(stack: Any, logical_id: str, instance: Any, body: dict[str, Any], *, snapshot: bool) -> None:
    """Delete what a resource made, as its CloudFormation handler does; raises when the service refuses."""
    deleter = DELETERS.get(body["Type"])
    if deleter is not None:
        deleter(stack, logical_id, instance, body.get("Properties", {}), snapshot)
        return
    stack.resource_map._delete_resource(instance, body)
