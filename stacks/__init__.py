"""The stacks of one environment, wired together."""

from __future__ import annotations

from aws_cdk import App, Stack, Tags

from config import EnvironmentConfig
from config.dr import DrSettings
from config.names import PROJECT_TAG
from stacks.catalogue import check_catalogue
from stacks.data_stack import DataStack
from stacks.dr_foundation_stack import DrFoundationStack
from stacks.dr_stack import DrStack
from stacks.monitoring_stack import MonitoringStack
from stacks.network_stack import NetworkStack
from stacks.registry_stack import RegistryStack
from stacks.service_stack import ServiceStack

__all__ = ["build_environment"]


def build_environment(app: App, cfg: EnvironmentConfig, dr: DrSettings | None = None, *, failback: str | None = None) -> dict[str, Stack]:
    """Create every stack of `cfg` in `app`; returns them by name, in deployment order.

    :param dr: what the DR stack is asked to be (`-c dr-mode`, `-c dr-restore`). Default: standby.
    :param failback: the primary database's failback phase (`-c failback`). Default: none, the primary.
    """
    check_catalogue()
    Tags.of(app).add("Project", PROJECT_TAG)
    Tags.of(app).add("Environment", cfg.name)

    stacks: list[Stack] = []
    dr_foundation = None
    if cfg.needs_dr_foundation:
        dr_foundation = DrFoundationStack(app, cfg=cfg)
        stacks.append(dr_foundation)
    network = NetworkStack(app, cfg=cfg)
    registry = RegistryStack(app, cfg=cfg)
    data = DataStack(app, cfg=cfg, network=network.network, failback=failback)
    service = ServiceStack(app, cfg=cfg, network=network.network, data=data.outputs)
    # The database's endpoint and secret reach the service through Parameter Store, by fixed names
    # resolved at each deploy, not as stack outputs: during a failback the Data stack has no
    # database (detached) or no master secret (replica) to output, and afterwards a new secret.
    service.add_stack_dependency(data, "reads the database's endpoint and secret from its parameters")
    service.add_stack_dependency(registry, "pulls its images from the repository, and the collector's through its cache rule")
    monitoring = MonitoringStack(app, cfg=cfg, service=service.outputs, vpc=network.network.vpc)
    stacks += [network, registry, data, service, monitoring]
    if dr_foundation is not None:
        service.add_stack_dependency(dr_foundation, "the Gemini key's replica is encrypted with its key")
    if cfg.dr.enabled and dr_foundation is not None:
        # Depends on nothing in the primary region, so it deploys while that region is down.
        stacks.append(DrStack(app, cfg=cfg, dr=dr or DrSettings(), dr_key=dr_foundation.key))
    if dr_foundation is not None:
        # Deployment order only: replication needs the DR key and template to exist first.
        registry.add_stack_dependency(dr_foundation, "replicas in the DR region use its creation template")
        data.add_stack_dependency(dr_foundation, "backups replicate with its key")
    return {stack.stack_name: stack for stack in stacks}
