from __future__ import annotations

from constructs import Construct

from config import EnvironmentConfig
from stacks.base import EnvironmentStack
from stacks.regional import RegionalNetwork


class NetworkStack(EnvironmentStack):
    """VPC, flow logs, endpoints and the manual's three security groups."""

    def __init__(self, scope: Construct, *, cfg: EnvironmentConfig) -> None:
        super().__init__(
            scope,
            cfg=cfg,
            part="Network",
            region=cfg.region,
            availability_zones=cfg.availability_zones,
            description="VPC, endpoints and security groups",
        )
        self.network = RegionalNetwork(
            self, cidr=cfg.network.cidr, availability_zones=cfg.availability_zones, nat_gateways=cfg.network.nat_gateways
        )
