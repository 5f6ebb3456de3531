"""What every ContractorLens stack shares: naming, environment, protection."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

from aws_cdk import CfnElement, Environment, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_kms as kms
from constructs import Construct, IConstruct

from cdk_constructs.api_service import ApiService, Scaling, TaskSize
from cdk_constructs.firewall import ApiFirewall
from cdk_constructs.load_balancer import PublicLoadBalancer
from cdk_constructs.logs import ServiceLogs
from config import EnvironmentConfig


class EnvironmentStack(Stack):
    """A stack named `ContractorLens-<Env>-<part>` in a region of one environment's account."""

    def __init__(
        self,
        scope: Construct,
        *,
        cfg: EnvironmentConfig,
        part: str,
        region: str,
        description: str,
        availability_zones: Sequence[str] = (),
    ) -> None:
        """
        :param cfg: the environment.
        :param part: the stack's role, e.g. "Network"; also the last part of its name.
        :param region: cfg.region or cfg.dr_region.
        :param description: shown in the CloudFormation console.
        :param availability_zones: the region's zones from config, for stacks that place
            resources in zones. Default: none (such a stack must not ask for zones).
        """
        self._zones = list(availability_zones)
        super().__init__(
            scope,
            cfg.names.stack(part),
            env=Environment(account=cfg.account, region=region),
            termination_protection=cfg.termination_protection,
            description=f"ContractorLens {cfg.name}: {description}",
        )
        self.cfg = cfg

    @property
    def availability_zones(self) -> list[str]:
        """The configured zones: CDK would otherwise look them up in the account at synth."""
        if not self._zones:
            raise ValueError(f"{self.stack_name} was built without availability zones but a construct asked for them")
        return self._zones


def pin_logical_id(construct: IConstruct, logical_id: str) -> None:
    """Give a stateful resource a logical id that no refactoring of construct paths changes.

    CloudFormation replaces a resource whose logical id changes; for a database, a key or a
    log group that means data loss, so their ids are fixed here and pinned by a test.
    """
    element = construct if isinstance(construct, CfnElement) else construct.node.default_child
    cast(CfnElement, element).override_logical_id(logical_id)


def service_logs(stack: Stack, cfg: EnvironmentConfig) -> ServiceLogs:
    """The service's key and log groups, with pinned logical ids, for the primary and DR stacks.

    Pinned here, before the service is built: the service names the exec log group's logical
    id in a compliance acknowledgement.
    """
    names = cfg.names
    logs = ServiceLogs(
        stack,
        "Logs",
        key_alias=f"alias/{names.prefix}-service",
        app_log_group=names.app_log_group,
        exec_log_group=names.exec_log_group,
        waf_log_group=names.waf_log_group,
        retention_days=cfg.service.log_retention_days,
    )
    pin_logical_id(logs.key, "ServiceKey")
    pin_logical_id(logs.exec_session_key, "ExecSessionKey")
    for logical_id, group in {"AppLogGroup": logs.app, "ExecLogGroup": logs.exec, "WafLogGroup": logs.waf}.items():
        pin_logical_id(group, logical_id)
    return logs


def regional_api(
    stack: Stack,
    cfg: EnvironmentConfig,
    *,
    logs: ServiceLogs,
    vpc: ec2.IVpc,
    security_group: ec2.ISecurityGroup,
    load_balancer: PublicLoadBalancer,
    environment: Mapping[str, str],
    secrets: Mapping[str, ecs.Secret],
    secret_keys: Sequence[kms.IKey],
    scaling: Scaling | None,
    deployment_alarms: Sequence[cloudwatch.IAlarm] = (),
) -> ApiService:
    """The API service behind `load_balancer` and the WAF in front of it, as the primary and
    DR stacks both run them: same names, image, size and logs in either region.

    The repository is found by name (the primary's, or the replica ECR made in the DR region),
    so the image URI is a plain string, not a chain of cross-stack lookups.
    """
    names, svc = cfg.names, cfg.service
    api = ApiService(
        stack,
        "Api",
        vpc=vpc,
        security_group=security_group,
        names={"cluster": names.cluster, "service": names.service, "family": names.task_family},
        repository=ecr.Repository.from_repository_name(stack, "Repository", names.repository),
        image_tag=svc.image_tag,
        size=TaskSize(cpu=svc.cpu, memory_mib=svc.memory_mib, container_port=svc.container_port),
        environment=environment,
        secrets=secrets,
        exec_key=logs.exec_session_key,
        log_group=logs.app,
        exec_log_group=logs.exec,
        listener=load_balancer.listener,
        secret_keys=secret_keys,
        deployment_alarms=deployment_alarms,
        scaling=scaling,
    )
    ApiFirewall(
        stack,
        "Firewall",
        name=f"{names.prefix}-api",
        load_balancer_arn=load_balancer.alb.load_balancer_arn,
        rate_limit=svc.waf_rate_limit,
        log_group=logs.waf,
    )
    return api
