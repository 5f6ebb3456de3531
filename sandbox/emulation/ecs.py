"""ECS: task definitions and services made through the API, their tasks registered in the
load balancer's target groups, and a stand-in for the application's /health."""

from __future__ import annotations

from typing import Any

from sandbox.emulation.common import api_kwargs, camel, client

EXTENSIONS = {
    "AWS::ECS::TaskDefinition": "registers the whole definition through the API; an update keeps the old revision ACTIVE only under UpdateReplacePolicy Retain, as CloudFormation does",
    "AWS::ECS::Service": "creates and updates the service through the API (load balancers, deployment settings)",
    "ECS tasks": "a service runs its desired count at once, registered in its target groups; no container runs",
    "the application": "a stand-in answers /health and the ALB health checks: healthy unless the release is a failing one (--failing-tag)",
}


def _ecs_kwargs(api: Any, operation: str, props: dict[str, Any]) -> dict[str, Any]:
    return api_kwargs(api, operation, camel(props))


def _register_task_definition(props: dict[str, Any], region: str) -> str:
    ecs = client("ecs", region)
    return ecs.register_task_definition(**_ecs_kwargs(ecs, "RegisterTaskDefinition", props))["taskDefinition"]["taskDefinitionArn"]


# --- the application: tasks in target groups, and their health -----------------------------------

# Image tags of releases whose /health fails (`--failing-tag`): a bad release, on purpose.
FAILING_TAGS: set[str] = set()
# Which service's tasks each target group holds: target group ARN -> (account, region, cluster, service).
TARGET_GROUP_SERVICES: dict[str, tuple[str, str, str, str]] = {}


def service_images(account: str, region: str, cluster: str, service: str) -> list[str]:
    """The images of the task definition the service runs now."""
    from moto.ecs.models import ecs_backends

    backend = ecs_backends[account][region]
    found = backend.services.get(f"{cluster}:{service}")
    if found is None:
        return []
    definition = backend.describe_task_definition(found.task_definition)
    return [c.get("image", "") for c in definition.container_definitions]


def app_healthy(account: str, region: str, cluster: str, service: str) -> bool:
    """The stand-in for the API container: healthy unless the running release is a failing one."""
    images = service_images(account, region, cluster, service)
    return bool(images) and not any(image.rpartition(":")[2] in FAILING_TAGS for image in images)


def sync_targets(account: str, region: str, cluster: str, service: str) -> None:
    """ECS registers each running task's IP in the service's target groups (moto does not)."""
    import ipaddress as ip

    from moto.ec2.models import ec2_backends
    from moto.ecs.models import ecs_backends
    from moto.elbv2.models import elbv2_backends

    found = ecs_backends[account][region].services[f"{cluster}:{service}"]
    subnets = (found.network_configuration or {}).get("awsvpcConfiguration", {}).get("subnets", [])
    cidrs = [ec2_backends[account][region].get_subnet(s).cidr_block for s in subnets] or ["10.0.0.0/24"]
    wanted = [str(next(ip.ip_network(cidrs[i % len(cidrs)]).hosts()) + 10 + i) for i in range(found.desired_count)]
    elbv2 = elbv2_backends[account][region]
    for balancer in found.load_balancers:
        arn = balancer.get("targetGroupArn")
        if not arn or arn not in elbv2.target_groups:
            continue
        TARGET_GROUP_SERVICES[arn] = (account, region, found.cluster_name, found.name)
        group = elbv2.target_groups[arn]
        port = balancer.get("containerPort")
        stale = [{"Id": t} for t in list(group.targets) if t not in wanted]
        if stale:
            group.deregister(stale)
        group.register([{"Id": t, "Port": port} for t in wanted])


def install_target_health() -> None:
    """The ALB's health check asks the stand-in application, so a failing release shows as
    unhealthy targets, as it would behind a real load balancer."""
    from moto.elbv2.models import FakeHealthStatus, FakeTargetGroup

    health_for = FakeTargetGroup.health_for

    def checked(self: Any, target: dict[str, Any], ec2_backend: Any) -> Any:
        status = health_for(self, target, ec2_backend)
        owner = TARGET_GROUP_SERVICES.get(self.arn)
        if owner is None or status.status != "healthy":
            return status
        if app_healthy(*owner):
            return status
        return FakeHealthStatus(
            status.instance_id, status.port, status.health_check_port, "unhealthy",
            "Target.ResponseCodeMismatch", "Health checks failed with these codes: [503]",
        )

    FakeTargetGroup.health_for = checked  # type: ignore[method-assign]


def install() -> None:
    from moto.ecs.models import EC2ContainerServiceBackend, Service, TaskDefinition, ecs_backends

    backend_update = EC2ContainerServiceBackend.update_service

    def update_service_api(self: Any, service_properties: dict[str, Any]) -> Any:
        # A scale or a new deployment through the API moves the tasks in the target groups too.
        service = backend_update(self, service_properties)
        sync_targets(self.account_id, self.region_name, service.cluster_name, service.name)
        return service

    EC2ContainerServiceBackend.update_service = update_service_api  # type: ignore[method-assign]

    def create_task_definition(cls: Any, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any) -> Any:
        arn = _register_task_definition(cloudformation_json["Properties"], region_name)
        return ecs_backends[account_id][region_name].describe_task_definition(arn)

    def update_task_definition(cls: Any, original_resource: Any, new_resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str) -> Any:
        # A new revision replaces the old; CloudFormation then deregisters the old one, unless the
        # template's UpdateReplacePolicy keeps it (moto always deregisters).
        new = create_task_definition(cls, new_resource_name, cloudformation_json, account_id, region_name)
        if cloudformation_json.get("UpdateReplacePolicy") != "Retain":
            client("ecs", region_name).deregister_task_definition(taskDefinition=original_resource.arn)
        return new

    def _service(account_id: str, region_name: str, cluster: str, name: str) -> Any:
        backend = ecs_backends[account_id][region_name]
        return backend.services[f"{backend._get_cluster(cluster).name}:{name}"]

    def create_service(cls: Any, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any) -> Any:
        # CloudFormation starts a service without DesiredCount at one task (autoscaling then
        # raises it to its minimum); the API would start it at none.
        props = {"ServiceName": resource_name, "DesiredCount": 1, **cloudformation_json["Properties"]}
        ecs = client("ecs", region_name)
        created = ecs.create_service(**_ecs_kwargs(ecs, "CreateService", props))["service"]
        service = _service(account_id, region_name, created["clusterArn"], created["serviceName"])
        sync_targets(account_id, region_name, service.cluster_name, service.name)
        return service

    def update_service(cls: Any, original_resource: Any, new_resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str) -> Any:
        props = {k: v for k, v in cloudformation_json["Properties"].items() if k not in ("ServiceName", "Cluster", "LaunchType", "Tags")}
        ecs = client("ecs", region_name)
        kwargs = _ecs_kwargs(ecs, "UpdateService", props)
        ecs.update_service(cluster=original_resource.cluster_name, service=original_resource.name, **kwargs)
        return _service(account_id, region_name, original_resource.cluster_name, original_resource.name)

    TaskDefinition.create_from_cloudformation_json = classmethod(create_task_definition)  # type: ignore[method-assign,assignment]
    TaskDefinition.update_from_cloudformation_json = classmethod(update_task_definition)  # type: ignore[method-assign,assignment]
    Service.create_from_cloudformation_json = classmethod(create_service)  # type: ignore[method-assign,assignment]
    Service.update_from_cloudformation_json = classmethod(update_service)  # type: ignore[method-assign,assignment]
