"""What every ContractorLens stack shares: naming, environment, protection."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from aws_cdk import CfnElement, Environment, Stack
from constructs import Construct, IConstruct

from cdk_constructs.compliance import CONTROL_TOWER, acknowledge
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
        self._acknowledge_short_log_retention()

    @property
    def dr_key_alias_arn(self) -> str:
        """The DR region's data key by its alias's ARN there: the key belongs to the DRFoundation
        stack, and a cross-region reference would pin both stacks (aws/aws-cdk#30771)."""
        return f"arn:{self.partition}:kms:{self.cfg.dr_region}:{self.account}:{self.cfg.names.dr_key_alias}"

    def _acknowledge_short_log_retention(self) -> None:
        """Control Tower's CT.CLOUDWATCH.PR.2 asks for a year of logs; a non-production config may
        keep less. Production is never acknowledged: every one of its groups keeps a year."""
        cfg = self.cfg
        retention = {
            "network.flow_log_retention_days": cfg.network.flow_log_retention_days,
            "database.log_retention_days": cfg.database.log_retention_days,
            "service.log_retention_days": cfg.service.log_retention_days,
        }
        short = ", ".join(f"{key} = {days}" for key, days in retention.items() if days < 365)
        if short and not cfg.is_production:
            acknowledge(
                self,
                f"{CONTROL_TOWER}cloudwatch_log_group_retention_period_check",
                f"{cfg.source} keeps this non-production environment's logs for less than a year ({short}) "
                "to keep its cost down; production keeps every log group for 365 days.",
            )

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
