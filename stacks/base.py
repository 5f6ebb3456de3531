"""What every ContractorLens stack shares: naming, environment, protection."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from aws_cdk import CfnElement, Environment, Stack
from constructs import Construct, IConstruct

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
