"""cdk_constructs/network.py: the three-tier VPC and the manual's security groups."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Template

from cdk_constructs.network import POSTGRES_PORT, AppNetwork, TierSecurityGroups, keep_default_egress_closed
from tests.cdk_constructs.conftest import ZONES, bare_stack, built, of_type, one, vpc


@pytest.fixture(scope="module")
def network() -> tuple[tuple[AppNetwork, TierSecurityGroups], Template]:
    """Given a /16 over two zones with one NAT gateway, and the groups for container port 3000."""

    def build(stack: Stack) -> tuple[AppNetwork, TierSecurityGroups]:
        network = AppNetwork(stack, "Network", cidr="10.10.0.0/16", availability_zones=ZONES, nat_gateways=1,
                             flow_log_group_name="/vpc/app/flow-logs", flow_log_retention_days=365)  # fmt: skip
        groups = TierSecurityGroups(stack, "Groups", vpc=network.vpc, alb_group_name="app-alb-sg", app_group_name="app-app-sg",
                                    db_group_name="app-db-sg", container_port=3000)  # fmt: skip
        return network, groups

    return built(build)


def _subnet_masks(template: Template) -> dict[str, set[str]]:
    masks: dict[str, set[str]] = {}
    for subnet in of_type(template, "AWS::EC2::Subnet").values():
        tier = next(t["Value"] for t in subnet["Properties"]["Tags"] if t["Key"] == "aws-cdk:subnet-name")
        masks.setdefault(tier, set()).add(subnet["Properties"]["CidrBlock"].split("/")[1])
    return masks


def _named_items(template: Template) -> list[tuple[str, dict[str, Any]]]:
    """The groups with a name: the manual's three (the endpoints' group has none)."""
    return [(k, g) for k, g in of_type(template, "AWS::EC2::SecurityGroup").items() if "GroupName" in g["Properties"]]


def _named(template: Template) -> list[dict[str, Any]]:
    return [g for _, g in _named_items(template)]


def test_three_tiers_in_every_zone_sized_by_the_vpcs_prefix(network: Any) -> None:
    assert _subnet_masks(network[1]) == {"Public": {"24"}, "Private": {"20"}, "Isolated": {"24"}}
    assert len(of_type(network[1], "AWS::EC2::Subnet")) == 3 * len(ZONES)


def test_nothing_launched_gets_a_public_address_by_default(network: Any) -> None:
    for subnet in of_type(network[1], "AWS::EC2::Subnet").values():
        assert subnet["Properties"].get("MapPublicIpOnLaunch", False) is False
        assert subnet["Properties"].get("AssignIpv6AddressOnCreation", False) is False


def test_every_flow_is_logged_to_an_encrypted_retained_group(network: Any) -> None:
    flow_log = one(network[1], "AWS::EC2::FlowLog")["Properties"]
    assert flow_log["TrafficType"] == "ALL"
    group = [g for g in of_type(network[1], "AWS::Logs::LogGroup").values() if g["Properties"]["LogGroupName"] == "/vpc/app/flow-logs"]
    assert group and group[0]["DeletionPolicy"] == "RetainExceptOnCreate" and "KmsKeyId" in group[0]["Properties"]


def test_the_alb_takes_80_and_443_from_the_internet_and_reaches_only_the_app(network: Any) -> None:
    groups = {g["Properties"]["GroupName"]: g["Properties"] for g in _named(network[1])}
    ingress = {(r.get("CidrIp") or r.get("CidrIpv6"), r["FromPort"]) for r in groups["app-alb-sg"]["SecurityGroupIngress"]}
    assert ingress == {("0.0.0.0/0", 443), ("0.0.0.0/0", 80), ("::/0", 443), ("::/0", 80)}
    egress = [e["Properties"] for e in of_type(network[1], "AWS::EC2::SecurityGroupEgress").values()]
    assert {(e["FromPort"], e["Description"]) for e in egress if "backend tasks" in e["Description"]} == {(3000, "To the backend tasks")}


def test_the_database_takes_postgres_from_the_app_only_and_reaches_nothing(network: Any) -> None:
    groups = {g["Properties"]["GroupName"]: (k, g["Properties"]) for k, g in _named_items(network[1])}
    db_id, db = groups["app-db-sg"]
    app_id, _ = groups["app-app-sg"]
    ingress = [r["Properties"] for r in of_type(network[1], "AWS::EC2::SecurityGroupIngress").values()
               if r["Properties"]["GroupId"] == {"Fn::GetAtt": [db_id, "GroupId"]}]  # fmt: skip
    assert [(r["FromPort"], r["SourceSecurityGroupId"]) for r in ingress] == [(POSTGRES_PORT, {"Fn::GetAtt": [app_id, "GroupId"]})]
    # allow_all_outbound=False: CDK puts a rule that matches nothing in place of the default egress.
    assert [e["CidrIp"] for e in db["SecurityGroupEgress"]] == ["255.255.255.255/32"]


@pytest.mark.parametrize(("cidr", "nat", "words"), [("10.0.0.0/20", 1, "/16 to /18"), ("10.0.0.0/16", 3, "expected 1 to 2")])
def test_a_block_or_nat_count_it_cannot_lay_out_is_refused(cidr: str, nat: int, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        AppNetwork(bare_stack(), "Network", cidr=cidr, availability_zones=ZONES, nat_gateways=nat,
                   flow_log_group_name="/vpc/x", flow_log_retention_days=1)  # fmt: skip


def test_a_group_whose_only_egress_is_to_another_group_keeps_an_inline_rule() -> None:
    """Rules added after the call count too: load balancer and service wiring add theirs late."""

    def build(stack: Stack) -> None:
        net = vpc(stack)
        front, back, open_ = (
            ec2.SecurityGroup(stack, name, vpc=net, allow_all_outbound=name == "Open") for name in ("Front", "Back", "Open")
        )
        keep_default_egress_closed(front)
        keep_default_egress_closed(back)
        keep_default_egress_closed(open_)
        front.add_egress_rule(back, ec2.Port.tcp(80), "to the back")
        back.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS")

    groups = {lid.rstrip("0123456789ABCDEF"): r["Properties"] for lid, r in of_type(built(build)[1], "AWS::EC2::SecurityGroup").items()}
    assert [rule["CidrIp"] for rule in groups["Front"]["SecurityGroupEgress"]] == ["255.255.255.255/32"]
    assert [rule["CidrIp"] for rule in groups["Back"]["SecurityGroupEgress"]] == ["0.0.0.0/0"]  # nothing added
    assert [rule["IpProtocol"] for rule in groups["Open"]["SecurityGroupEgress"]] == ["-1"]  # all outbound, on purpose
