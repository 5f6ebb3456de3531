"""ECS: task definitions and services made through the API; deployments that succeed only when
their images can be pulled and their tasks pass the health check, with the deployment circuit
breaker rolling a failed one back; tasks registered in the load balancer's target groups; and a
stand-in for the application's /health."""

from __future__ import annotations

import inspect
import json
import logging
import re
from typing import Any

from config.schema import FARGATE_MEMORY  # Fargate's task-size table, one copy for config and the emulator
from sandbox.emulation.common import ResourceFailedError, api_kwargs, camel, client

EXTENSIONS = {
    "AWS::ECS::TaskDefinition": "registers the whole definition through the API (every change is a replacement: a new revision)",
    "AWS::ECS::Service": "creates and updates the service through the API (load balancers, deployment settings)",
    "ECS deployments": "a new task definition, or --force-new-deployment, starts a deployment with a new id; it completes (rolloutState COMPLETED) with the desired count running",
    "image pulls": "a deployment whose essential image is not in its ECR repository (tag or digest) never gets a task running (CannotPullContainerError) and fails",
    "deployment circuit breaker": "a failed deployment rolls the service back to its previous task definition; on a stack operation the resource fails with 'ECS Deployment Circuit Breaker was triggered', and a new service has nothing to roll back to (ECS developer guide, 'Deployment circuit breaker')",
    "ECS tasks": "a service runs its desired count at once, registered in its target groups; no container runs",
    "service tasks": "each deployment's tasks are listed (ListTasks with serviceName, DescribeTasks) RUNNING on the deployment's revision, every container with the digest its image tag resolved to when the deployment started (ECS developer guide, 'Container image resolution'); a scale keeps that digest; the tasks of an earlier deployment are gone at once (AWS lists STOPPED tasks for about an hour)",
    "the application": "a stand-in answers /health and the ALB health checks: 200 only while tasks of a release that is not a failing one (--failing-tag) run",
    "task definition revisions": "`family:NOTANUMBER` is a ClientException ('Invalid revision number'), not a server error",
    "AWS::ECR::PullThroughCacheRule": "kept by the emulator, one per repository prefix in a region, a second one refused (PullThroughCacheRuleAlreadyExistsException), and one whose CredentialArn names no secret refused (SecretNotFoundException; ECR API reference CreatePullThroughCacheRule)",
    "upstream credentials": "a pull through a rule with credentials fails (UnableToGetUpstreamImageException, 'usually caused because of an issue with the Secrets Manager secret containing the credentials', ECR API reference) unless its secret holds a username and an accessToken (ECR user guide, 'Storing your upstream repository credentials') and the username is not the stacks' placeholder `set-me`: the one wrong credential the emulator can tell; whether Docker Hub would take the others is not checked (kinder than AWS for those)",
    "pull through cache": "an image `<account>.dkr.ecr.<region>.amazonaws.com/<prefix>/<path>:<tag>` whose repository does not exist is pulled when a cache rule has that prefix, and ECR creates the repository and keeps the image there on that first pull (ECR user guide, 'Sync an upstream registry'); the upstream image is assumed to exist, as every public image is here, and its manifest is a stand-in",
    "one-off tasks (RunTask)": "no container runs: a task that can start (see 'task start') is STOPPED at once with exit code 0, so the SQL of `db-users` never runs here; one that cannot is STOPPED with ECS's reason and no exit code (ECS developer guide, 'Stopped tasks errors')",
    "Fargate task sizes": "RegisterTaskDefinition of a FARGATE definition refuses a cpu/memory pair that is not in Fargate's table (ClientException 'No Fargate configuration exists for given values'; ECS developer guide, 'Amazon ECS task definition parameters for Fargate', Task size); moto took any",
    "load balancer wiring": "CreateService and UpdateService refuse a load balancer whose containerName the task definition has no container of, or whose containerPort that container does not map (InvalidParameterException; ECS API reference, LoadBalancer); moto took any",
    "task start": "a service's deployment and RunTask start a task only when, for every container, each secret's Secrets Manager secret (by full or partial ARN, in the task's region) exists and holds the JSON key `valueFrom` names, each Parameter Store parameter exists, and the awslogs group exists unless `awslogs-create-group` is true; otherwise the task stops with ResourceInitializationError (ECS developer guide, 'Stopped tasks errors' and 'Using the awslogs log driver'), and a deployment fails and trips the circuit breaker. Then the essential images are pulled (CannotPullContainerError). Not modelled: a secret's version stage or id other than AWSCURRENT",
}

# Pull-through cache rules by (account, region, repository prefix): their properties.
PULL_THROUGH_CACHE_RULES: dict[tuple[str, str, str], dict[str, str]] = {}
# What the stacks' Docker Hub credentials hold until an operator sets them: a pull with it fails.
PLACEHOLDER_USER = "set-me"


def _credentials_problem(account: str, region: str, credential_arn: str | None) -> str | None:
    """Why the upstream registry would refuse the rule's credentials, or None."""
    if not credential_arn:
        return None
    import json

    from botocore.exceptions import ClientError

    try:
        credentials = json.loads(client("secretsmanager", region).get_secret_value(SecretId=credential_arn)["SecretString"])
    except ClientError:
        return "UnableToGetUpstreamImageException: the rule's secret cannot be read"
    except ValueError:
        credentials = {}
    if not credentials.get("username") or not credentials.get("accessToken") or credentials["username"] == PLACEHOLDER_USER:
        return "UnableToGetUpstreamImageException: authentication with the upstream registry failed"
    return None


CIRCUIT_BREAKER = "Resource handler returned message: \"Error occurred during operation 'ECS Deployment Circuit Breaker was triggered'.\" (HandlerErrorCode: GeneralServiceException)"
_ECR_IMAGE = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/([^:@]+)(?::([^@]+))?(?:@(.+))?$")


def _ecs_kwargs(api: Any, operation: str, props: dict[str, Any]) -> dict[str, Any]:
    return api_kwargs(api, operation, camel(props))


def _units(value: str | None, unit: str, per: int) -> int | None:
    """A task size as ECS takes it: a number, or "1 vCPU" / "2 GB"."""
    if value is None:
        return None
    text = str(value).strip()
    if text.lower().endswith(unit.lower()):
        return int(float(text[: -len(unit)]) * per)
    return int(text)


def fargate_size_problem(cpu: str | None, memory: str | None) -> str | None:
    """RegisterTaskDefinition's refusal of a Fargate task size that is not in the table, or None."""
    units, mib = _units(cpu, "vcpu", 1024), _units(memory, "gb", 1024)
    if units is None or mib is None or mib in FARGATE_MEMORY.get(units, ()):
        return None
    return f"No Fargate configuration exists for given values: {cpu} CPU, {memory} memory. See the Amazon ECS documentation for the valid values."


def wiring_problem(definition: Any, load_balancers: list[dict[str, Any]]) -> str | None:
    """CreateService's and UpdateService's refusal of a load balancer that names a container, or a
    port of it, the task definition does not have (ECS API reference, LoadBalancer), or None."""
    containers = {c.get("name"): c for c in definition.container_definitions}
    for balancer in load_balancers or []:
        name, port = balancer.get("containerName"), balancer.get("containerPort")
        if name not in containers:
            return f"The container {name} does not exist in the task definition."
        ports = {int(m.get("containerPort", 0)) for m in containers[name].get("portMappings") or []}
        if port is not None and int(port) not in ports:
            return f"The container {name} did not have a container port {port} defined."
    return None


def _register_task_definition(props: dict[str, Any], region: str) -> str:
    ecs = client("ecs", region)
    return ecs.register_task_definition(**_ecs_kwargs(ecs, "RegisterTaskDefinition", props))["taskDefinition"]["taskDefinitionArn"]


# --- the application: images, tasks in target groups, and their health -----------------------------

# Image tags of releases whose /health fails (`--failing-tag`): a bad release, on purpose.
FAILING_TAGS: set[str] = set()
# Which service's tasks each target group holds: target group ARN -> (account, region, cluster, service).
TARGET_GROUP_SERVICES: dict[str, tuple[str, str, str, str]] = {}


def _definition(account: str, region: str, task_definition: str) -> Any:
    from moto.ecs.models import ecs_backends

    return ecs_backends[account][region].describe_task_definition(task_definition)


def service_images(account: str, region: str, cluster: str, service: str) -> list[str]:
    """The images of the task definition the service runs now."""
    from moto.ecs.models import ecs_backends

    found = ecs_backends[account][region].services.get(f"{cluster}:{service}")
    if found is None or found.task_definition is None:
        return []
    return [c.get("image", "") for c in _definition(account, region, found.task_definition).container_definitions]


def _failing(image: str) -> bool:
    return image.rpartition(":")[2] in FAILING_TAGS


def app_healthy(account: str, region: str, cluster: str, service: str) -> bool:
    """The stand-in for the API container: healthy while tasks of a release that is not a failing one run."""
    from moto.ecs.models import ecs_backends

    found = ecs_backends[account][region].services.get(f"{cluster}:{service}")
    images = service_images(account, region, cluster, service)
    return bool(images) and found.running_count > 0 and not any(_failing(image) for image in images)


def pull_problem(image: str) -> str | None:
    """Why ECS could not pull an image from ECR in this emulator's account, or None."""
    from moto.ecr.models import ecr_backends

    match = _ECR_IMAGE.match(image)
    if match is None:
        return None  # a public registry's image: assumed pullable
    account, region, name, tag, digest = match.groups()
    repository = ecr_backends[account][region].repositories.get(name)
    rule = PULL_THROUGH_CACHE_RULES.get((account, region, name.split("/", 1)[0]))
    if rule is not None:
        # Through a cache rule: the first pull creates the repository, and a tag not cached yet
        # is imported from upstream, with the rule's credentials when it has them.
        problem = _credentials_problem(account, region, rule.get("CredentialArn"))
        if problem:
            return f"CannotPullContainerError: pull image manifest has been retried 5 time(s): {image}: {problem}"
        backend = ecr_backends[account][region]
        if repository is None:
            repository = backend.create_repository(name, None, {"encryptionType": "AES256"}, {"scanOnPush": False}, "MUTABLE", [])
        if tag and not any(tag in (stored.image_tags or []) for stored in repository.images):
            # ECR keeps the upstream image in the cached repository on its first pull; here a
            # manifest stands in for the upstream's, one per image name and tag.
            manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json", "upstream": image}
            backend.put_image(name, json.dumps(manifest), tag)
        return None
    if repository is None:
        return f"CannotPullContainerError: repository {name} not found in {region}"
    for stored in repository.images:
        if (digest and stored.image_digest == digest) or (tag and tag in (stored.image_tags or [])) or (not tag and not digest):
            return None
    return f"CannotPullContainerError: pull image manifest has been retried 5 time(s): {image}: not found"


_SECRETS_FAILED = "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: "


def secret_problem(account: str, region: str, value_from: str) -> str | None:
    """Why ECS could not read a container's secret, or None: the secret, its JSON key, or the
    Parameter Store parameter is not there (ECS developer guide, 'Stopped tasks errors':
    ResourceInitializationError)."""
    from botocore.exceptions import ClientError

    if ":secretsmanager:" not in value_from:
        name = value_from.split(":parameter", 1)[-1] if value_from.startswith("arn:") else value_from
        found = client("ssm", region).get_parameters(Names=[name])
        if found["InvalidParameters"]:
            return f"{_SECRETS_FAILED}unable to retrieve secrets from ssm: service call has been retried 1 time(s): invalid ssm parameters: {name}"
        return None
    parts = value_from.split(":")
    arn, json_key = ":".join(parts[:7]), (parts[7] if len(parts) > 7 else "")
    try:
        value = client("secretsmanager", region).get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"]
    except ClientError:
        return f"{_SECRETS_FAILED}unable to retrieve secret from asm: ResourceNotFoundException: Secrets Manager can't find the specified secret ({arn})"
    if json_key:
        try:
            keys = json.loads(value)
        except ValueError:
            keys = {}
        if not isinstance(keys, dict) or json_key not in keys:
            return f"{_SECRETS_FAILED}unable to retrieve secret from asm: retrieved secret from Secrets Manager did not contain json key {json_key}"
    return None


def log_problem(region: str, container: dict[str, Any]) -> str | None:
    """Why the awslogs driver could not start: its group is not there and the container does not
    ask ECS to create it (ECS developer guide, 'Using the awslogs log driver': awslogs-create-group)."""
    if (container.get("logConfiguration") or {}).get("logDriver") != "awslogs":
        return None
    options = container["logConfiguration"].get("options") or {}
    group, where = options.get("awslogs-group", ""), options.get("awslogs-region", region)
    if str(options.get("awslogs-create-group", "")).lower() == "true":
        return None
    groups = client("logs", where).describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    if not any(g["logGroupName"] == group for g in groups):
        return (
            "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: "
            f"failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not exist. ({group})"
        )
    return None


def start_problem(account: str, region: str, definition: Any) -> str | None:
    """Why ECS could not start a task of this definition (before any container runs), or None:
    the execution role's permissions, then each container's secrets and log group, then the images."""
    from sandbox.emulation.access import task_start_problem

    denied = task_start_problem(account, region, definition)
    if denied:
        return denied
    for container in definition.container_definitions:
        for secret in container.get("secrets") or []:
            problem = secret_problem(account, region, secret["valueFrom"])
            if problem:
                return problem
        problem = log_problem(region, container)
        if problem:
            return problem
    for container in definition.container_definitions:
        if container.get("essential", True):
            problem = pull_problem(container.get("image", ""))
            if problem:
                return problem
    return None


def run_problem(account: str, region: str, task_definition: Any) -> str | None:
    """Why a one-off task of this definition would stop before its containers ran, or None."""
    return start_problem(account, region, task_definition)


def _stop_at_once(account: str, region: str, task: Any) -> None:
    """A one-off task, as it is once it has run: STOPPED, with exit code 0 or the reason it never ran."""
    problem = run_problem(account, region, _definition(account, region, task.task_definition_arn))
    task.status = "STOPPED"
    task.desired_status = "STOPPED"
    task.stopped_reason = problem or "Essential container in task exited"
    for container in task.containers:
        container.last_status = "STOPPED"
        container.exitCode = None if problem else 0
        container.reason = problem


def deployment_problem(account: str, region: str, task_definition: str) -> str | None:
    """Why tasks of this revision never become healthy, or None."""
    definition = _definition(account, region, task_definition)
    problem = start_problem(account, region, definition)
    if problem:
        return problem
    for container in definition.container_definitions:
        if container.get("essential", True) and _failing(container.get("image", "")):
            return "tasks failed the load balancer's health checks: Health checks failed with these codes: [503]"
    return None


def _deployment(service: Any, task_definition: str, state: str, reason: str) -> dict[str, Any]:
    from moto.core.utils import utcnow
    from moto.moto_api._internal import mock_random

    now = utcnow()
    running = service.desired_count if state == "COMPLETED" else 0
    identifier = f"ecs-svc/{mock_random.randint(0, 32**12)}"
    return {
        "id": identifier,
        "status": "PRIMARY",
        "taskDefinition": task_definition,
        "desiredCount": service.desired_count,
        "pendingCount": 0,
        "runningCount": running,
        "failedTasks": 0 if state == "COMPLETED" else service.desired_count,
        "createdAt": now,
        "updatedAt": now,
        "launchType": service.launch_type,
        "rolloutState": state,
        "rolloutStateReason": reason.format(id=identifier),
        "platformFamily": "FARGATE" if service.launch_type == "FARGATE" else "EC2",
        "networkConfiguration": service.network_configuration,
    }


def _event(service: Any, message: str) -> None:
    from moto.core.utils import utcnow
    from moto.moto_api._internal import mock_random

    service.events.insert(0, {"id": str(mock_random.uuid4()), "createdAt": utcnow(), "message": f"(service {service.name}) {message}"})


def deploy(account: str, region: str, service: Any, previous: str | None) -> str | None:
    """Run a deployment of the service's task definition at once; when it fails, the circuit
    breaker rolls back to `previous` (if there is one). Returns why it failed, or None."""
    problem = deployment_problem(account, region, service.task_definition)
    if problem is None:
        service.running_count, service.pending_count = service.desired_count, 0
        service.deployments = [_deployment(service, service.task_definition, "COMPLETED", "ECS deployment {id} completed.")]
        _event(service, "has reached a steady state.")
        run_service_tasks(account, region, service, resolve=True)
        return None
    _event(service, f"deployment failed: {problem}")
    # In the emulator's log too: a failed first create deletes the service, and its events with it.
    logging.getLogger("sandbox.ecs").warning("ECS deployment of %s failed: %s", service.name, problem)
    breaker = (getattr(service, "deployment_configuration", None) or {}).get("deploymentCircuitBreaker", {})
    if previous and str(breaker.get("rollback", "false")).lower() == "true":
        _event(service, "(deployment circuit breaker) rolling back to the previous deployment")
        service.task_definition = previous
        service.running_count, service.pending_count = service.desired_count, 0
        service.deployments = [
            _deployment(service, previous, "COMPLETED", "ECS deployment circuit breaker: rolled back to deployment {id}.")
        ]
        run_service_tasks(account, region, service, resolve=False)  # the previous deployment's tasks run on
    else:
        service.running_count, service.pending_count = 0, service.desired_count
        service.deployments = [_deployment(service, service.task_definition, "FAILED", f"ECS deployment circuit breaker: {problem}")]
        run_service_tasks(account, region, service, resolve=False)
    return problem


def _digest(image: str) -> str:
    """The digest ECS resolves an image to: ECR's for an image in this account's ECR, else a stable
    stand-in for a public image (which the emulator assumes exists)."""
    import hashlib

    from moto.ecr.models import ecr_backends

    match = _ECR_IMAGE.match(image)
    if match:
        pull_problem(image)  # ECS pulls every container, essential or not: a cached image lands in its repository
        account, region, name, tag, digest = match.groups()
        repository = ecr_backends[account][region].repositories.get(name)
        for stored in repository.images if repository else []:
            if (digest and stored.image_digest == digest) or (tag and tag in (stored.image_tags or [])):
                return str(stored.image_digest)
    return f"sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def run_service_tasks(account: str, region: str, service: Any, *, resolve: bool) -> None:
    """The service's running tasks as ECS lists them: `running_count` tasks of its task definition.
    `resolve` is a new deployment (images resolved to digests again); a scale keeps the digests."""
    import types

    from moto.ecs.models import Container, Task, ecs_backends

    backend = ecs_backends[account][region]
    cluster = backend._get_cluster(service.cluster_name)
    tasks = backend.tasks.setdefault(cluster.name, {})
    group = f"service:{service.name}"
    for arn in [arn for arn, task in tasks.items() if getattr(task, "group", None) == group]:
        del tasks[arn]
    if not service.task_definition or not service.running_count:
        return
    definition = _definition(account, region, service.task_definition)
    if resolve or not getattr(service, "resolved_digests", None):
        service.resolved_digests = {c["name"]: _digest(c.get("image", "")) for c in definition.container_definitions}
    deployment = (service.deployments or [{}])[0].get("id", "")
    # moto's Task takes one container and makes a network interface per awsvpc task; the emulator
    # lists every container of the definition and gives the tasks no interface of their own.
    shape = types.SimpleNamespace(arn=definition.arn, network_mode="none", container_definitions=definition.container_definitions)
    for _ in range(service.running_count):
        task = Task(cluster, shape, None, None, backend, group, launch_type=service.launch_type or "FARGATE", started_by=deployment)
        containers = []
        for spec in definition.container_definitions:
            container = Container(types.SimpleNamespace(arn=definition.arn, container_definitions=[spec]))  # type: ignore[arg-type]
            container.last_status = "RUNNING"
            container.image_digest = service.resolved_digests.get(spec["name"])
            containers.append(container)
        task.containers = containers
        task.advance = lambda: None  # a service's task runs until ECS replaces it: no lifecycle steps
        tasks[task.task_arn] = task


def listing_by_service(backend_list_tasks: Any) -> Any:
    """moto's ListTasks ignores serviceName ("We can't filter on service_name"); ECS lists that
    service's tasks only. Wraps moto's backend method (the sandbox, and the runbook's moto tests)."""

    def list_tasks(
        self: Any,
        cluster_str: str | None = None,
        container_instance: str | None = None,
        family: str | None = None,
        started_by: str | None = None,
        service_name: str | None = None,
        desiredStatus: str | None = None,  # noqa: N803 (moto's name)
    ) -> Any:
        found = backend_list_tasks(self, cluster_str, container_instance, family, started_by, None, desiredStatus)
        if not service_name:
            return found
        return [t for t in found if getattr(t, "group", None) == f"service:{service_name.split('/')[-1]}"]

    return list_tasks


def sync_targets(account: str, region: str, cluster: str, service: str) -> None:
    """ECS registers each running task's IP in the service's target groups (moto does not)."""
    import ipaddress as ip

    from moto.ec2.models import ec2_backends
    from moto.ecs.models import ecs_backends
    from moto.elbv2.models import elbv2_backends

    found = ecs_backends[account][region].services[f"{cluster}:{service}"]
    subnets = (found.network_configuration or {}).get("awsvpcConfiguration", {}).get("subnets", [])
    cidrs = [ec2_backends[account][region].get_subnet(s).cidr_block for s in subnets] or ["10.0.0.0/24"]
    wanted = [str(next(ip.ip_network(cidrs[i % len(cidrs)]).hosts()) + 10 + i) for i in range(found.running_count)]
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
        if wanted:
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
            status.instance_id,
            status.port,
            status.health_check_port,
            "unhealthy",
            "Target.ResponseCodeMismatch",
            "Health checks failed with these codes: [503]",
        )

    FakeTargetGroup.health_for = checked  # type: ignore[method-assign]


def install() -> None:
    from moto.ecs.exceptions import EcsClientException, InvalidParameterException
    from moto.ecs.models import EC2ContainerServiceBackend, Service, TaskDefinition, ecs_backends

    backend_run_task = EC2ContainerServiceBackend.run_task

    def run_task(self: Any, *args: Any, **kwargs: Any) -> Any:
        tasks = backend_run_task(self, *args, **kwargs)
        for task in tasks:
            _stop_at_once(self.account_id, self.region_name, task)
        return tasks

    EC2ContainerServiceBackend.run_task = run_task  # type: ignore[method-assign]

    describe = EC2ContainerServiceBackend.describe_task_definition

    def describe_task_definition(self: Any, task_definition_str: str) -> Any:
        revision = task_definition_str.split("/")[-1].partition(":")[2]
        if revision and not revision.isdigit():
            raise EcsClientException(f"Invalid revision number. Number: {revision}")
        return describe(self, task_definition_str)

    EC2ContainerServiceBackend.describe_task_definition = describe_task_definition  # type: ignore[method-assign]

    backend_register = EC2ContainerServiceBackend.register_task_definition

    def register_task_definition(self: Any, *args: Any, **kwargs: Any) -> Any:
        call = inspect.signature(backend_register).bind(self, *args, **kwargs).arguments
        if "FARGATE" in (call.get("requires_compatibilities") or []):
            problem = fargate_size_problem(call.get("cpu"), call.get("memory"))
            if problem:
                raise EcsClientException(problem)
        return backend_register(self, *args, **kwargs)

    EC2ContainerServiceBackend.register_task_definition = register_task_definition  # type: ignore[method-assign]

    backend_create = EC2ContainerServiceBackend.create_service

    def create_service_api(self: Any, *args: Any, **kwargs: Any) -> Any:
        call = inspect.signature(backend_create).bind(self, *args, **kwargs).arguments
        if call.get("task_definition_str") and call.get("load_balancers"):
            problem = wiring_problem(self.describe_task_definition(call["task_definition_str"]), call["load_balancers"])
            if problem:
                raise InvalidParameterException(problem)
        service = backend_create(self, *args, **kwargs)
        if service.task_definition:
            deploy(self.account_id, self.region_name, service, None)
        sync_targets(self.account_id, self.region_name, service.cluster_name, service.name)
        return service

    EC2ContainerServiceBackend.create_service = create_service_api  # type: ignore[method-assign]

    backend_update = EC2ContainerServiceBackend.update_service

    def update_service_api(self: Any, service_properties: dict[str, Any]) -> Any:
        # A new revision or a forced deployment deploys; a scale moves the tasks in the target groups.
        restart = bool(service_properties.get("force_new_deployment"))
        cluster = service_properties.get("cluster", "default")
        before = self._get_service(cluster, service_properties["service"].split("/")[-1])
        previous = before.task_definition
        wanted = service_properties.get("task_definition")
        if wanted:
            balancers = service_properties.get("load_balancers") or before.load_balancers
            problem = wiring_problem(self.describe_task_definition(wanted), balancers)
            if problem:
                raise InvalidParameterException(problem)
        service = backend_update(self, service_properties)
        if restart or service.task_definition != previous:
            deploy(self.account_id, self.region_name, service, previous)
        else:
            for deployment in service.deployments:
                deployment.update(desiredCount=service.desired_count, runningCount=service.running_count)
            run_service_tasks(self.account_id, self.region_name, service, resolve=False)
        sync_targets(self.account_id, self.region_name, service.cluster_name, service.name)
        return service

    EC2ContainerServiceBackend.update_service = update_service_api  # type: ignore[method-assign]

    EC2ContainerServiceBackend.list_tasks = listing_by_service(EC2ContainerServiceBackend.list_tasks)  # type: ignore[method-assign]

    backend_delete_service = EC2ContainerServiceBackend.delete_service

    def delete_service(self: Any, cluster_name: str, service_name: str, force: bool) -> Any:
        deleted = backend_delete_service(self, cluster_name, service_name, force)
        deleted.running_count = 0
        run_service_tasks(self.account_id, self.region_name, deleted, resolve=False)  # its tasks stop with it
        return deleted

    EC2ContainerServiceBackend.delete_service = delete_service  # type: ignore[method-assign]

    def create_task_definition(
        cls: Any, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        arn = _register_task_definition(cloudformation_json["Properties"], region_name)
        return ecs_backends[account_id][region_name].describe_task_definition(arn)

    def _service(account_id: str, region_name: str, cluster: str, name: str) -> Any:
        backend = ecs_backends[account_id][region_name]
        return backend.services[f"{backend._get_cluster(cluster).name}:{name}"]

    def create_service(
        cls: Any, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **cfn: Any
    ) -> Any:
        # CloudFormation starts a service without DesiredCount at one task (autoscaling then
        # raises it to its minimum); the API would start it at none.
        props = {"ServiceName": resource_name, "DesiredCount": 1, **cloudformation_json["Properties"]}
        ecs = client("ecs", region_name)
        kwargs = _ecs_kwargs(ecs, "CreateService", props)
        created = ecs.create_service(**{k: v for k, v in kwargs.items() if k != "taskDefinition"})["service"]
        service = _service(account_id, region_name, created["clusterArn"], created["serviceName"])
        # moto keeps no deployment configuration; the circuit breaker reads it.
        service.deployment_configuration = camel(props.get("DeploymentConfiguration", {}))
        service.task_definition = kwargs.get("taskDefinition")
        if service.task_definition and deploy(account_id, region_name, service, None):
            # CloudFormation waits for the first deployment, which has nothing to roll back to.
            ecs.delete_service(cluster=service.cluster_name, service=service.name, force=True)
            raise ResourceFailedError(cfn.get("LogicalId", resource_name), "AWS::ECS::Service", CIRCUIT_BREAKER)
        sync_targets(account_id, region_name, service.cluster_name, service.name)
        return service

    def update_service(
        cls: Any, original_resource: Any, new_resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> Any:
        props = {k: v for k, v in cloudformation_json["Properties"].items() if k not in ("ServiceName", "Cluster", "LaunchType", "Tags")}
        ecs = client("ecs", region_name)
        kwargs = _ecs_kwargs(ecs, "UpdateService", props)
        original_resource.deployment_configuration = camel(props.get("DeploymentConfiguration", {}))
        ecs.update_service(cluster=original_resource.cluster_name, service=original_resource.name, **kwargs)
        service = _service(account_id, region_name, original_resource.cluster_name, original_resource.name)
        wanted = kwargs.get("taskDefinition")
        if wanted and service.task_definition != wanted:
            # The circuit breaker put the previous revision back; CloudFormation fails the update.
            raise ResourceFailedError(original_resource.logical_resource_id, "AWS::ECS::Service", CIRCUIT_BREAKER)
        return service

    TaskDefinition.create_from_cloudformation_json = classmethod(create_task_definition)  # type: ignore[method-assign,assignment]
    Service.create_from_cloudformation_json = classmethod(create_service)  # type: ignore[method-assign,assignment]
    Service.update_from_cloudformation_json = classmethod(update_service)  # type: ignore[method-assign,assignment]
