"""moto stands in for AWS (in-process `mock_aws`); the health endpoint is a server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import boto3
import pytest
from moto import mock_aws

from config import EnvironmentConfig, load_environment
from runbook.account import SERVICE_LINKED_ROLES
from runbook.cli import main

PRIMARY, DR = "us-west-2", "us-east-1"
# Fast waits: moto answers at once, so one poll a second is plenty.
FAST = ["--poll-seconds", "1", "--timeout-minutes", "1"]
# The team's VPN range, in place of the placeholder production's file ships (which deploys refuse).
VPN_RANGE = "10.50.0.0/16"


def production_config() -> EnvironmentConfig:
    """config/production.toml as a team deploys it: with its VPN range for Grafana in place of the
    placeholder (test_errors.py checks that the file as shipped is refused)."""
    cfg = load_environment("production")
    return cfg.model_copy(update={"observability": cfg.observability.model_copy(update={"grafana_allowed_cidrs": [VPN_RANGE]})})


def _load(name: str, *args: Any, **kwargs: Any) -> EnvironmentConfig:
    return production_config() if name == "production" else load_environment(name, *args, **kwargs)


@dataclass
class HealthServer:
    url: str
    status: int = 200


@pytest.fixture
def health_server() -> Iterator[HealthServer]:
    server_state = HealthServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(server_state.status if self.path == "/health" else 404)
            self.end_headers()
            self.wfile.write(b'{"status": "ok"}')

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    server_state.url = f"http://127.0.0.1:{server.server_port}/health"
    # serve_forever looks for shutdown() every poll_interval (0.5 s by default): each test's teardown
    # waited that long, 32 s of make test over the runbook tests.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield server_state
    server.shutdown()
    server.server_close()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials, no profile or endpoint from the developer's shell, and moto."""
    for name in ("AWS_PROFILE", "AWS_REGION", "AWS_ENDPOINT_URL", "AWS_DEFAULT_PROFILE", "AWS_MAX_ATTEMPTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", PRIMARY)
    # moto reports this many running tasks for a service, so that waiters see it steady.
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "2")
    # No test launches an instance: loading moto's AMI catalogue took most of each test's set-up.
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    monkeypatch.setattr("runbook.cli.load_environment", _load)
    _service_tasks(monkeypatch)
    with mock_aws():
        yield


def _service_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto lists no tasks for a service: here, as in the sandbox, a service runs its running count
    of tasks of its revision, each container on the digest its image had when the deployment began
    (sandbox/emulation/ecs.py, whose functions these are)."""
    from moto.ecr.models import Image
    from moto.ecs.models import EC2ContainerServiceBackend

    from sandbox.emulation import ecs as emulated
    from sandbox.emulation.moto_fixes import manifest_digest

    create, update = EC2ContainerServiceBackend.create_service, EC2ContainerServiceBackend.update_service

    def create_service(self: Any, *args: Any, **kwargs: Any) -> Any:
        service = create(self, *args, **kwargs)
        emulated.run_service_tasks(self.account_id, self.region_name, service, resolve=True)
        return service

    def update_service(self: Any, props: dict[str, Any]) -> Any:
        before = self._get_service(props.get("cluster", "default"), props["service"].split("/")[-1]).task_definition
        service = update(self, props)
        deployed = service.task_definition != before or bool(props.get("force_new_deployment"))
        emulated.run_service_tasks(self.account_id, self.region_name, service, resolve=deployed)
        return service

    monkeypatch.setattr(EC2ContainerServiceBackend, "create_service", create_service)
    monkeypatch.setattr(EC2ContainerServiceBackend, "update_service", update_service)
    monkeypatch.setattr(EC2ContainerServiceBackend, "list_tasks", emulated.listing_by_service(EC2ContainerServiceBackend.list_tasks))
    monkeypatch.setattr(Image, "_create_digest", manifest_digest)  # each tag's own digest, as ECR computes it


@dataclass
class World:
    """Production as the stacks leave it, in moto."""

    target_group_arn: str
    vpc_id: str


def _client(service: str, region: str = PRIMARY) -> Any:
    return boto3.client(service, region_name=region)


def push_image(tag: str, region: str = PRIMARY, repository: str = "contractorlens") -> None:
    """What `docker push` (or ECR replication) leaves in ECR: an image manifest under the tag."""
    from sandbox.session import image_manifest

    _client("ecr", region).put_image(repositoryName=repository, imageTag=tag, imageManifest=image_manifest(tag))


COLLECTOR_IMAGE = "123456789012.dkr.ecr.us-west-2.amazonaws.com/contractorlens-public/aws-observability/aws-otel-collector:v0.43.3"


def register_revision(image_tag: str) -> None:
    _client("ecs").register_task_definition(
        family="contractorlens",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="1024",
        memory="2048",
        # The Service stack's shape: the API first, and the metrics collector from the pull-through cache.
        containerDefinitions=_containers(image_tag),
    )


SERVICE_STACK = "ContractorLens-Production-Service"


def _containers(image_tag: str) -> list[dict[str, Any]]:
    return [
        {"name": "api", "image": f"123456789012.dkr.ecr.us-west-2.amazonaws.com/contractorlens:{image_tag}"},
        {"name": "metrics-collector", "image": COLLECTOR_IMAGE},
    ]


def deploy_service_stack(image_tag: str) -> str:
    """What `npx cdk deploy` of the Service stack does to the service: the stack's task definition
    with the tag (a new revision when the template changed), and the service moved to it, as
    CloudFormation updates AWS::ECS::Service. An unchanged template changes nothing, as a change set
    with no changes does not. Returns the stack's task definition."""
    cfn, ecs = _client("cloudformation"), _client("ecs")
    properties = {
        "Family": "contractorlens",
        "NetworkMode": "awsvpc",
        "Cpu": "1024",
        "Memory": "2048",
        "RequiresCompatibilities": ["FARGATE"],
        "ContainerDefinitions": _containers(image_tag),  # moto's resource takes the API's spelling
    }
    body = json.dumps({"Resources": {"TaskDefinition": {"Type": "AWS::ECS::TaskDefinition", "Properties": properties}}})
    try:
        before = cfn.get_template(StackName=SERVICE_STACK)["TemplateBody"]
    except cfn.exceptions.ClientError:
        before = None
    if before is None:
        cfn.create_stack(StackName=SERVICE_STACK, TemplateBody=body)
    elif json.dumps(before) != body and before != body:
        cfn.update_stack(StackName=SERVICE_STACK, TemplateBody=body)
    else:
        return str(cfn.describe_stack_resources(StackName=SERVICE_STACK)["StackResources"][0]["PhysicalResourceId"])
    arn = str(cfn.describe_stack_resources(StackName=SERVICE_STACK)["StackResources"][0]["PhysicalResourceId"])
    ecs.update_service(cluster="contractorlens", service="contractorlens", taskDefinition=arn)
    return arn


class FakeCdk:
    """Stands in for the `npx cdk deploy` subprocess, which has no account to deploy to here: records
    each call and, when it succeeds, deploys the Service stack with the tag it was given."""

    def __init__(self, code: int = 0) -> None:
        self.code = code
        self.calls: list[list[str]] = []

    def __call__(self, argv: Any) -> int:
        self.calls.append(list(argv))
        if self.code == 0 and argv[2] == "deploy" and SERVICE_STACK in argv:
            context = [a.split("=", 1)[1] for a in argv if a.startswith("image-tag=")]
            deploy_service_stack(context[0] if context else "1.0.0")
        return self.code


@pytest.fixture
def world(aws: None) -> World:
    ec2, elbv2, ecs = _client("ec2"), _client("elbv2"), _client("ecs")
    vpc_id = ec2.create_vpc(CidrBlock="10.10.0.0/16")["Vpc"]["VpcId"]
    group = elbv2.create_target_group(
        Name="contractorlens-api", Protocol="HTTP", Port=3000, VpcId=vpc_id, TargetType="ip", HealthCheckPath="/health"
    )["TargetGroups"][0]["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": "10.10.16.10", "Port": 3000}, {"Id": "10.10.32.10", "Port": 3000}])
    ecs.create_cluster(clusterName="contractorlens")
    _client("ecr").create_repository(repositoryName="contractorlens", imageTagMutability="IMMUTABLE")
    for tag in ("1.0.0", "1.1.0"):
        push_image(tag)
    # The collector's image, as the pull-through cache keeps it after the first pull.
    collector, collector_tag = COLLECTOR_IMAGE.split("amazonaws.com/", 1)[1].rsplit(":", 1)
    _client("ecr").create_repository(repositoryName=collector)
    push_image(collector_tag, repository=collector)
    for service in SERVICE_LINKED_ROLES:  # a service creates its role on first use
        _client("iam").create_service_linked_role(AWSServiceName=service)
    register_revision("1.0.0")
    register_revision("1.1.0")
    ecs.create_service(
        cluster="contractorlens",
        serviceName="contractorlens",
        taskDefinition="contractorlens:2",
        desiredCount=2,
        launchType="FARGATE",
        loadBalancers=[{"targetGroupArn": group, "containerName": "api", "containerPort": 3000}],
    )
    _client("rds").create_db_instance(
        DBInstanceIdentifier="contractorlens-db",
        DBInstanceClass="db.m7g.large",
        Engine="postgres",
        EngineVersion="15.17",
        MasterUsername="contractorlens_admin",
        MasterUserPassword="not-a-real-password-1",
        AllocatedStorage=100,
    )
    # The Docker Hub user and token an operator put in the Registry stack's secret (README).
    _client("secretsmanager").create_secret(
        Name="ecr-pullthroughcache/contractorlens-docker-hub",
        SecretString=json.dumps({"username": "contractorlens-ci", "accessToken": "t"}),
    )
    # What a successful `deploy.sh db-users` (first-deploy runs it) records.
    _client("ssm").put_parameter(
        Name="/contractorlens/production/runbook/db-users", Value=json.dumps({"at": "2026-11-01T10:00:00+00:00"}), Type="String"
    )
    logs = _client("logs")
    logs.create_log_group(logGroupName="/ecs/contractorlens")
    logs.create_log_stream(logGroupName="/ecs/contractorlens", logStreamName="contractorlens/api/1")
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName="/ecs/contractorlens",
        logStreamName="contractorlens/api/1",
        logEvents=[
            {"timestamp": now - 60_000, "message": "FAILED_LOGIN user=a@example.com"},
            {"timestamp": now - 50_000, "message": "slow query 2300 ms: SELECT ..."},
            {"timestamp": now - 40_000, "message": "GET /api/v1/estimates 200"},
            {"timestamp": now - 30_000, "message": "FAILED_LOGIN user=b@example.com"},
        ],
    )
    _client("cloudwatch").put_metric_alarm(
        AlarmName="contractorlens-production-api-error-rate",
        MetricName="HTTPCode_Target_5XX_Count",
        Namespace="AWS/ApplicationELB",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanThreshold",
    )
    return World(target_group_arn=group, vpc_id=vpc_id)


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]):
    def _run(*argv: str, **kwargs: Any) -> Result:
        code = main(list(argv), **kwargs)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return _run
