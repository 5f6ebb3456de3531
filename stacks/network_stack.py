from __future__ import annotations

from constructs import Construct

from cdk_constructs.network import AppNetwork, TierSecurityGroups
from config import EnvironmentConfig
from stacks.base import EnvironmentStack, pin_logical_id


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
        names = cfg.names
        self.network = AppNetwork(
            self,
            "Network",
            cidr=cfg.network.cidr,
            availability_zones=cfg.availability_zones,
            nat_gateways=cfg.network.nat_gateways,
            flow_log_group_name=names.flow_log_group,
            flow_log_retention_days=cfg.network.flow_log_retention_days,
            interface_endpoints=cfg.network.interface_endpoints,
        )
        self.vpc = self.network.vpc
        self.security_groups = TierSecurityGroups(
            self,
            "SecurityGroups",
            vpc=self.vpc,
            alb_group_name=names.security_group("alb"),
            app_group_name=names.security_group("app"),
            db_group_name=names.security_group("db"),
            container_port=cfg.service.container_port,
        )
        pin_logical_id(self.vpc, "Vpc")
        pin_logical_id(self.network.logs_key, "FlowLogsKey")
        pin_logical_id(self.network.flow_log_group, "FlowLogGroup")
