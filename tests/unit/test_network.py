"""Network stack: VPC tiers, NAT, flow logs, endpoints and the manual's security groups."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from config import load_environment
from tests.conftest import SYNTHESES
from tests.synth import Synthesis, synthesize

# The manual's "Review security groups" command names these groups.
ALB_SG, APP_SG, DB_SG = "contractorlens-alb-sg", "contractorlens-app-sg", "contractorlens-db-sg"


def _groups(synth: Synthesis) -> dict[str, tuple[str, dict[str, Any]]]:
    """Security groups by group name -> (logical id, properties)."""
    return {
        r["Properties"]["GroupName"]: (logical_id, r["Properties"])
        for logical_id, r in synth.resources("Network", "AWS::EC2::SecurityGroup").items()
        if "GroupName" in r["Properties"]
    }


def _ingress(synth: Synthesis, group_logical_id: str) -> list[dict[str, Any]]:
    """Every ingress rule of a group: inline ones and separate SecurityGroupIngress resources."""
    groups = synth.resources("Network", "AWS::EC2::SecurityGroup")
    rules = list(groups[group_logical_id]["Properties"].get("SecurityGroupIngress", []))
    standalone = synth.resources("Network", "AWS::EC2::SecurityGroupIngress").values()
    rules.extend(r["Properties"] for r in standalone if r["Properties"]["GroupId"] == {"Fn::GetAtt": [group_logical_id, "GroupId"]})
    return rules


def test_vpc_uses_the_configured_block(production: Synthesis) -> None:
    (vpc,) = production.resources("Network", "AWS::EC2::VPC").values()
    assert vpc["Properties"]["CidrBlock"] == "10.10.0.0/16"
    assert vpc["Properties"]["EnableDnsHostnames"] is True


def test_three_tiers_in_each_configured_zone(production: Synthesis) -> None:
    subnets = production.resources("Network", "AWS::EC2::Subnet").values()
    by_tier: dict[str, set[str]] = {}
    for subnet in subnets:
        tier = next(t["Value"] for t in subnet["Properties"]["Tags"] if t["Key"] == "aws-cdk:subnet-name")
        by_tier.setdefault(tier, set()).add(subnet["Properties"]["AvailabilityZone"])
    zones = {"us-west-2a", "us-west-2b", "us-west-2c"}
    assert by_tier == {"Public": zones, "Private": zones, "Isolated": zones}


def test_public_subnets_do_not_hand_out_public_addresses(production: Synthesis) -> None:
    for subnet in production.resources("Network", "AWS::EC2::Subnet").values():
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False


def test_production_has_a_nat_gateway_per_zone_and_staging_one(production: Synthesis, staging: Synthesis) -> None:
    assert len(production.resources("Network", "AWS::EC2::NatGateway")) == 3
    assert len(staging.resources("Network", "AWS::EC2::NatGateway")) == 1


def test_isolated_subnets_have_no_route_out(production: Synthesis) -> None:
    tables = production.resources("Network", "AWS::EC2::RouteTable")
    isolated_tables = {k for k in tables if k.startswith("NetworkVpcIsolatedSubnet")}
    assert isolated_tables
    for route in production.resources("Network", "AWS::EC2::Route").values():
        assert route["Properties"]["RouteTableId"]["Ref"] not in isolated_tables


def test_flow_logs_capture_all_traffic_into_an_encrypted_retained_group(production: Synthesis) -> None:
    (flow_log,) = production.resources("Network", "AWS::EC2::FlowLog").values()
    assert flow_log["Properties"]["TrafficType"] == "ALL"
    assert flow_log["Properties"]["LogDestinationType"] == "cloud-watch-logs"
    group = production.template("Network")["Resources"]["FlowLogGroup"]
    assert flow_log["Properties"]["LogGroupName"] == {"Ref": "FlowLogGroup"}
    assert group["Properties"]["RetentionInDays"] == 365
    assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": ["FlowLogsKey", "Arn"]}
    assert group["DeletionPolicy"] == "RetainExceptOnCreate"


def test_fargate_tasks_reach_aws_apis_through_endpoints(production: Synthesis) -> None:
    services = {}
    for endpoint in production.resources("Network", "AWS::EC2::VPCEndpoint").values():
        name = endpoint["Properties"]["ServiceName"]
        if isinstance(name, dict):  # the S3 gateway's name is joined with the region token
            name = "".join(part if isinstance(part, str) else "us-west-2" for part in name["Fn::Join"][1])
        services[name.removeprefix("com.amazonaws.us-west-2.")] = endpoint["Properties"]
    assert set(services) == {"s3", "ecr.api", "ecr.dkr", "logs", "secretsmanager", "ssm"}
    assert services["s3"]["VpcEndpointType"] == "Gateway"
    for name in ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "ssm"):
        assert services[name]["VpcEndpointType"] == "Interface"
        assert services[name]["PrivateDnsEnabled"] is True


def test_interface_endpoints_can_be_switched_off(tmp_path_factory: pytest.TempPathFactory) -> None:
    cfg = load_environment("staging")
    cfg = cfg.model_copy(update={"network": cfg.network.model_copy(update={"interface_endpoints": False})})
    synth = synthesize(cfg, tmp_path_factory.mktemp("no-endpoints"))
    types = {e["Properties"]["VpcEndpointType"] for e in synth.resources("Network", "AWS::EC2::VPCEndpoint").values()}
    assert types == {"Gateway"}


def test_the_three_groups_carry_the_manuals_names(production: Synthesis) -> None:
    assert {ALB_SG, APP_SG, DB_SG} <= set(_groups(production))


def test_alb_accepts_only_443_and_80_from_anywhere(production: Synthesis) -> None:
    alb_id, _ = _groups(production)[ALB_SG]
    rules = {(r["IpProtocol"], r["FromPort"], r["ToPort"], r.get("CidrIp") or r.get("CidrIpv6")) for r in _ingress(production, alb_id)}
    assert rules == {
        ("tcp", 443, 443, "0.0.0.0/0"),
        ("tcp", 80, 80, "0.0.0.0/0"),
        ("tcp", 443, 443, "::/0"),
        ("tcp", 80, 80, "::/0"),
    }


def test_the_vpc_is_dual_stack_but_hands_out_no_ipv6_addresses(production: Synthesis) -> None:
    (block,) = production.resources("Network", "AWS::EC2::VPCCidrBlock").values()
    assert block["Properties"]["AmazonProvidedIpv6CidrBlock"] is True
    for subnet in production.resources("Network", "AWS::EC2::Subnet").values():
        assert subnet["Properties"]["AssignIpv6AddressOnCreation"] is False


def test_app_accepts_only_the_container_port_from_the_alb(production: Synthesis) -> None:
    groups = _groups(production)
    app_id, alb_id = groups[APP_SG][0], groups[ALB_SG][0]
    (rule,) = _ingress(production, app_id)
    assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 3000, 3000)
    assert rule["SourceSecurityGroupId"] == {"Fn::GetAtt": [alb_id, "GroupId"]}


def test_database_accepts_only_5432_from_the_app(production: Synthesis) -> None:
    groups = _groups(production)
    db_id, app_id = groups[DB_SG][0], groups[APP_SG][0]
    (rule,) = _ingress(production, db_id)
    assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 5432, 5432)
    assert rule["SourceSecurityGroupId"] == {"Fn::GetAtt": [app_id, "GroupId"]}


def test_nothing_else_is_open_to_the_internet(production: Synthesis) -> None:
    alb_id = _groups(production)[ALB_SG][0]
    for logical_id in production.resources("Network", "AWS::EC2::SecurityGroup"):
        if logical_id == alb_id:
            continue
        for rule in _ingress(production, logical_id):
            assert rule.get("CidrIp") != "0.0.0.0/0" and rule.get("CidrIpv6") != "::/0", logical_id


def test_the_database_group_sends_nothing_out(production: Synthesis) -> None:
    db = production.resources("Network", "AWS::EC2::SecurityGroup")[_groups(production)[DB_SG][0]]
    (egress,) = db["Properties"]["SecurityGroupEgress"]
    assert egress["CidrIp"] == "255.255.255.255/32"  # CDK's "disallow all" placeholder
    assert not [
        r
        for r in production.resources("Network", "AWS::EC2::SecurityGroupEgress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [_groups(production)[DB_SG][0], "GroupId"]}
    ]


def test_the_default_security_group_is_emptied(production: Synthesis) -> None:
    assert production.resources("Network", "Custom::VpcRestrictDefaultSG")


@pytest.mark.parametrize("name", SYNTHESES)
def test_no_security_group_is_left_with_ec2s_allow_all_egress(synthesis: Callable[[str], Synthesis], name: str) -> None:
    """EC2 gives a group created without egress rules of its own an allow-all rule, which a rule to
    another group, written as a separate SecurityGroupEgress, revokes only once it is created. Every
    group of ours says what it sends: one inline rule at least (CDK's 255.255.255.255/32 placeholder
    where nothing). This failed on both ALB groups and Grafana's load-balancer group."""
    synth = synthesis(name)
    open_groups = [
        f"{stack}/{logical_id}"
        for stack, template in synth.templates.items()
        for logical_id, group in template["Resources"].items()
        if group["Type"] == "AWS::EC2::SecurityGroup" and not group["Properties"].get("SecurityGroupEgress")
    ]
    assert not open_groups
