"""Security groups and load balancers made through the EC2 and ELB APIs, with exactly the rules
and attributes the template gives them (moto's own models keep the default allow-all egress,
drop IPv6 ingress and every load balancer attribute, and replace a group on any update)."""

from __future__ import annotations

import json
from typing import Any

from sandbox.emulation.common import client

EXTENSIONS = {
    "AWS::EC2::SecurityGroup": "the template's inline rules exactly: IPv4 and IPv6 ingress; the default allow-all IPv4 egress replaced by SecurityGroupEgress when it is given (AWS::EC2::SecurityGroup reference), and no default IPv6 egress even in a dual-stack VPC (cloudformation-coverage-roadmap#2241); an update changes the inline rules in place",
    "AWS::EC2::SecurityGroupIngress / Egress": "rules through the EC2 API; an egress rule also removes the group's default allow-all egress, as CloudFormation does (aws/aws-cdk#987, PR #998)",
    "AWS::EC2::Route": "an IPv6 route keeps its DestinationIpv6CidrBlock (moto drops it)",
    "AWS::EC2::VPC": "takes EnableDnsSupport and EnableDnsHostnames from the template, as the AWS::EC2::VPC reference describes them (moto's CloudFormation drops both); network interfaces in the VPC then get private DNS names, which ECS's RunTask reports",
    "EC2 deletions": "route tables, routes, associations, gateways and their attachments, NAT gateways, addresses, endpoints and flow logs are deleted with their stack (moto's CloudFormation keeps them, and the VPC's deletion then fails)",
    "security groups in use": "DeleteSecurityGroup refuses a group that a load balancer or a DB instance still uses, or that another group's rule references, DependencyViolation (EC2 API reference, DeleteSecurityGroup: 'associated with an instance or network interface, is referenced by another security group in the same VPC'), so a stack deletion that reaches one ends DELETE_FAILED; moto deleted it. A group's rules that reference itself do not hold it. Not modelled: network interfaces and VPC endpoints holding a group (moto leaves a stopped task's interface behind, which ECS would release, and the emulator deletes a stack's endpoints after its other resources)",
    "ELB security policies": "CreateListener and ModifyListener refuse an SslPolicy that is not one of ELB's (SSLPolicyNotFound; ELB API reference, CreateListener: Errors), checked against the policies moto lists from AWS's own; moto took any name",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "created with the template's scheme, IP address type, groups, subnets and attributes; deletion protection refuses deletion; with access logs on, the test object ELB writes into the bucket",
}

ALLOW_ALL_EGRESS = {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
ALLOW_ALL_IPV6_EGRESS = {"IpProtocol": "-1", "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}


def permission(rule: dict[str, Any], peer_key: str) -> dict[str, Any]:
    """A template rule (inline, or a SecurityGroupIngress/Egress resource) as the API's IpPermission."""
    made: dict[str, Any] = {"IpProtocol": str(rule["IpProtocol"])}
    for key in ("FromPort", "ToPort"):
        if key in rule:
            made[key] = int(rule[key])
    description = {"Description": rule["Description"]} if rule.get("Description") else {}
    if rule.get("CidrIp"):
        made["IpRanges"] = [{"CidrIp": rule["CidrIp"], **description}]
    if rule.get("CidrIpv6"):
        made["Ipv6Ranges"] = [{"CidrIpv6": rule["CidrIpv6"], **description}]
    if rule.get(peer_key):
        made["UserIdGroupPairs"] = [{"GroupId": rule[peer_key], **description}]
    if rule.get("SourcePrefixListId") or rule.get("DestinationPrefixListId"):
        made["PrefixListIds"] = [{"PrefixListId": rule.get("SourcePrefixListId") or rule.get("DestinationPrefixListId"), **description}]
    return made


def _drop_default_egress(ec2: Any, group_id: str, *, ipv4: bool = True, ipv6: bool = False) -> None:
    """Revoke the group's default allow-all egress rules that the EC2 API added."""
    (group,) = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
    for rule in group.get("IpPermissionsEgress", []):
        if rule.get("IpProtocol") != "-1":
            continue
        if ipv4 and any(r["CidrIp"] == "0.0.0.0/0" for r in rule.get("IpRanges", [])):
            ec2.revoke_security_group_egress(GroupId=group_id, IpPermissions=[ALLOW_ALL_EGRESS])
        if ipv6 and any(r["CidrIpv6"] == "::/0" for r in rule.get("Ipv6Ranges", [])):
            ec2.revoke_security_group_egress(GroupId=group_id, IpPermissions=[ALLOW_ALL_IPV6_EGRESS])


def define_models() -> None:
    from moto.core.common_models import CloudFormationModel
    from moto.ec2.models import ec2_backends
    from moto.elbv2.models import elbv2_backends

    from sandbox.emulation.resources import MODELS, _ApiModel

    def inline_rules(props: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
        ingress = [permission(r, "SourceSecurityGroupId") for r in props.get("SecurityGroupIngress", [])]
        egress = (
            [permission(r, "DestinationSecurityGroupId") for r in props["SecurityGroupEgress"]] if "SecurityGroupEgress" in props else None
        )
        return ingress, egress

    class SecurityGroup(CloudFormationModel):
        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::EC2::SecurityGroup"

        @staticmethod
        def cloudformation_name_type() -> str:
            return "GroupName"

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
        ) -> Any:
            props = cloudformation_json.get("Properties", {})
            ec2 = client("ec2", region_name)
            kwargs_api: dict[str, Any] = {"GroupName": props.get("GroupName") or resource_name, "Description": props["GroupDescription"]}
            if props.get("VpcId"):
                kwargs_api["VpcId"] = props["VpcId"]
            if props.get("Tags"):
                kwargs_api["TagSpecifications"] = [{"ResourceType": "security-group", "Tags": props["Tags"]}]
            group_id = ec2.create_security_group(**kwargs_api)["GroupId"]
            ingress, egress = inline_rules(props)
            if ingress:
                ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=ingress)
            # The EC2 API gives a group in a dual-stack VPC an allow-all IPv6 egress rule too;
            # CloudFormation's groups never have it (cloudformation-coverage-roadmap#2241).
            _drop_default_egress(ec2, group_id, ipv4=egress is not None, ipv6=True)
            if egress:
                ec2.authorize_security_group_egress(GroupId=group_id, IpPermissions=egress)
            group = ec2_backends[account_id][region_name].get_security_group_from_id(group_id)
            group.inline_rules = (ingress, egress)
            return group

        @classmethod
        def update_from_cloudformation_json(
            cls, original_resource: Any, new_resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
        ) -> Any:
            # Only the template's own inline rules change; rules of SecurityGroupIngress/Egress
            # resources stay.
            ec2 = client("ec2", region_name)
            old_ingress, old_egress = getattr(original_resource, "inline_rules", ([], None))
            ingress, egress = inline_rules(cloudformation_json.get("Properties", {}))
            gone = [r for r in old_ingress if r not in ingress]
            added = [r for r in ingress if r not in old_ingress]
            if gone:
                ec2.revoke_security_group_ingress(GroupId=original_resource.id, IpPermissions=gone)
            if added:
                ec2.authorize_security_group_ingress(GroupId=original_resource.id, IpPermissions=added)
            before, after = old_egress or [], egress or []
            if [r for r in before if r not in after]:
                ec2.revoke_security_group_egress(GroupId=original_resource.id, IpPermissions=[r for r in before if r not in after])
            if [r for r in after if r not in before]:
                ec2.authorize_security_group_egress(GroupId=original_resource.id, IpPermissions=[r for r in after if r not in before])
            original_resource.inline_rules = (ingress, egress)
            return original_resource

        @classmethod
        def delete_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
        ) -> None:
            client("ec2", region_name).delete_security_group(GroupId=resource_name)

    class SecurityGroupIngress(_ApiModel, CloudFormationModel):
        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::EC2::SecurityGroupIngress"

        @classmethod
        def create(cls, props: dict[str, Any], region: str) -> str:
            result = client("ec2", region).authorize_security_group_ingress(
                GroupId=props["GroupId"], IpPermissions=[permission(props, "SourceSecurityGroupId")]
            )
            return result["SecurityGroupRules"][0]["SecurityGroupRuleId"]

        @classmethod
        def remove(cls, physical_id: str, region: str) -> None:
            _revoke_rule(physical_id, region)

    class SecurityGroupEgress(_ApiModel, CloudFormationModel):
        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::EC2::SecurityGroupEgress"

        @classmethod
        def create(cls, props: dict[str, Any], region: str) -> str:
            ec2 = client("ec2", region)
            _drop_default_egress(ec2, props["GroupId"])
            result = ec2.authorize_security_group_egress(
                GroupId=props["GroupId"], IpPermissions=[permission(props, "DestinationSecurityGroupId")]
            )
            return result["SecurityGroupRules"][0]["SecurityGroupRuleId"]

        @classmethod
        def remove(cls, physical_id: str, region: str) -> None:
            _revoke_rule(physical_id, region)

    class LoadBalancer(CloudFormationModel):
        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::ElasticLoadBalancingV2::LoadBalancer"

        @staticmethod
        def cloudformation_name_type() -> str:
            return "Name"

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
        ) -> Any:
            props = cloudformation_json.get("Properties", {})
            elbv2 = client("elbv2", region_name)
            api = {
                "Name": resource_name,
                "Subnets": props.get("Subnets", []),
                "Scheme": props.get("Scheme", "internet-facing"),
                "Type": props.get("Type", "application"),
                "IpAddressType": props.get("IpAddressType", "ipv4"),
            }
            if props.get("SecurityGroups"):
                api["SecurityGroups"] = props["SecurityGroups"]
            if props.get("Tags"):
                api["Tags"] = props["Tags"]
            arn = elbv2.create_load_balancer(**api)["LoadBalancers"][0]["LoadBalancerArn"]
            _set_attributes(elbv2, arn, props, account_id)
            return elbv2_backends[account_id][region_name].load_balancers[arn]

        @classmethod
        def update_from_cloudformation_json(
            cls, original_resource: Any, new_resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
        ) -> Any:
            props = cloudformation_json.get("Properties", {})
            elbv2 = client("elbv2", region_name)
            if props.get("SecurityGroups"):
                elbv2.set_security_groups(LoadBalancerArn=original_resource.arn, SecurityGroups=props["SecurityGroups"])
            _set_attributes(elbv2, original_resource.arn, props, account_id)
            return original_resource

    MODELS.extend((SecurityGroup, SecurityGroupIngress, SecurityGroupEgress, LoadBalancer))
    from sandbox.emulation.lifecycle import DELETERS as ALL

    ALL.update(DELETERS)


def _revoke_rule(rule_id: str, region: str) -> None:
    ec2 = client("ec2", region)
    rules = ec2.describe_security_group_rules(SecurityGroupRuleIds=[rule_id])["SecurityGroupRules"]
    for rule in rules:
        revoke = ec2.revoke_security_group_egress if rule["IsEgress"] else ec2.revoke_security_group_ingress
        revoke(GroupId=rule["GroupId"], SecurityGroupRuleIds=[rule_id])


def _set_attributes(elbv2: Any, arn: str, props: dict[str, Any], account: str) -> None:
    attributes = [{"Key": a["Key"], "Value": str(a["Value"])} for a in props.get("LoadBalancerAttributes", [])]
    if attributes:
        elbv2.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=attributes)
    values = {a["Key"]: a["Value"] for a in attributes}
    if values.get("access_logs.s3.enabled") == "true" and values.get("access_logs.s3.bucket"):
        # ELB checks that it can write by putting a test object into the bucket at once.
        prefix = values.get("access_logs.s3.prefix", "")
        key = "/".join(p for p in (prefix, "AWSLogs", account, "ELBAccessLogTestFile") if p)
        client("s3", arn.split(":")[3]).put_object(
            Bucket=values["access_logs.s3.bucket"], Key=key, Body=json.dumps({"test": True}).encode()
        )


# --- deletions: moto's CloudFormation leaves these EC2 resources in place, and then the VPC
# cannot be deleted (DependencyViolation), as in AWS when they are still there ------------------------


def _ec2(stack: Any) -> Any:
    return client("ec2", stack.region_name)


def _delete_route_table(stack: Any, logical_id: str, instance: Any, props: dict[str, Any], snapshot: bool) -> None:
    _ec2(stack).delete_route_table(RouteTableId=instance.id)


def _delete_route(stack: Any, logical_id: str, instance: Any, props: dict[str, Any], snapshot: bool) -> None:
    destination = (
        {"DestinationCidrBlock": instance.destination_cidr_block}
        if instance.destination_cidr_block
        else {"DestinationIpv6CidrBlock": instance.destination_ipv6_cidr_block}
    )
    _ec2(stack).delete_route(RouteTableId=instance.route_table.id, **destination)


def _disassociate(stack: Any, logical_id: str, instance: Any, props: dict[str, Any], snapshot: bool) -> None:
    from moto.ec2.models import ec2_backends

    table = ec2_backends[stack.account_id][stack.region_name].route_tables[instance.route_table_id]
    for association, subnet in list(table._associations.items()):
        if subnet == instance.subnet_id:
            _ec2(stack).disassociate_route_table(AssociationId=association)


def _detach_gateway(stack: Any, logical_id: str, instance: Any, props: dict[str, Any], snapshot: bool) -> None:
    if instance.gateway_id and instance.gateway_id.startswith("igw-"):
        _ec2(stack).detach_internet_gateway(InternetGatewayId=instance.gateway_id, VpcId=instance.vpc_id)


def _delete_internet_gateway(stack: Any, logical_id: str, instance: Any, props: dict[str, Any], snapshot: bool) -> None:
    _ec2(stack).delete_internet_gateway(InternetGatewayId=instance.id)


def _delete_nat_gateway(stack: Any, logical_id: str, instance: Any, props: dict[str, Any], snapshot: bool) -> None:
    _ec2(stack).delete_nat_gateway(NatGatewayId=instance.id)


def _release_address(stack: Any, logical_id: str, instance: Any, props: dict[str, Any], snapshot: bool) -> None:
    _ec2(stack).release_address(AllocationId=instance.allocation_id)


def _delete_endpoint(stack: Any, logical_id: str, instance: Any, props: dict[str, Any], snapshot: bool) -> None:
    _ec2(stack).delete_vpc_endpoints(VpcEndpointIds=[instance.id])


def _delete_flow_log(stack: Any, logical_id: str, instance: Any, props: dict[str, Any], snapshot: bool) -> None:
    _ec2(stack).delete_flow_logs(FlowLogIds=[instance.id])


def install_groups_in_use() -> None:
    from moto.ec2.exceptions import DependencyViolationError
    from moto.ec2.models import EC2Backend
    from moto.elbv2.models import elbv2_backends
    from moto.rds.models import rds_backends

    delete = EC2Backend.delete_security_group

    def users(backend: Any, group_id: str) -> list[str]:
        """What still uses the group, as EC2 would name it."""
        # Not network interfaces or VPC endpoints: moto leaves a stopped task's interface behind (ECS
        # releases it), and the emulator deletes a stack's endpoints after the stack's other resources.
        found = [
            g.id
            for groups in backend.groups.values()
            for g in groups.values()
            if g.id != group_id
            for rule in [*g.ingress_rules, *g.egress_rules]
            if (rule.source_group or {}).get("GroupId") == group_id
        ]
        account, region = backend.account_id, backend.region_name
        found += [lb.name for lb in elbv2_backends[account][region].load_balancers.values() if group_id in (lb.security_groups or [])]
        found += [
            db.db_instance_identifier
            for db in rds_backends[account][region].databases.values()
            if group_id in (db.vpc_security_group_ids or [])
        ]
        return sorted(set(found))

    def delete_security_group(self: Any, name: str | None = None, group_id: str | None = None) -> Any:
        group = self.get_security_group_from_id(group_id) if group_id else (self.get_security_group_by_name_or_id(name) if name else None)
        if group is not None:
            holding = users(self, group.id)
            if holding:
                raise DependencyViolationError(f"resource {group.id} has a dependent object ({', '.join(holding)})")
        return delete(self, name=name, group_id=group_id)

    EC2Backend.delete_security_group = delete_security_group  # type: ignore[method-assign]


def install_ssl_policies() -> None:
    from moto.elbv2.exceptions import ELBClientError
    from moto.elbv2.models import ELBv2Backend
    from moto.elbv2.ssl_policies import SSL_POLICIES

    create, modify = ELBv2Backend.create_listener, ELBv2Backend.modify_listener

    def known(name: str | None) -> None:
        if name is not None and name not in SSL_POLICIES:
            raise ELBClientError("SSLPolicyNotFound", f"SSL policy '{name}' not found")

    def create_listener(self: Any, load_balancer_arn: str, protocol: str, port: str, ssl_policy: str, *args: Any, **kwargs: Any) -> Any:
        known(ssl_policy if protocol in ("HTTPS", "TLS") else None)
        return create(self, load_balancer_arn, protocol, port, ssl_policy, *args, **kwargs)

    def modify_listener(self: Any, arn: str, *args: Any, **kwargs: Any) -> Any:
        known(kwargs.get("ssl_policy") if "ssl_policy" in kwargs else (args[2] if len(args) > 2 else None))
        return modify(self, arn, *args, **kwargs)

    ELBv2Backend.create_listener = create_listener  # type: ignore[method-assign]
    ELBv2Backend.modify_listener = modify_listener  # type: ignore[method-assign]


def install_vpc_attributes() -> None:
    """moto's AWS::EC2::VPC creates the VPC without its DNS attributes."""
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.vpcs import VPC

    original = VPC.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(cls: Any, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any) -> Any:
        vpc = original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        props = cloudformation_json["Properties"]
        for attribute in ("EnableDnsSupport", "EnableDnsHostnames"):
            if attribute in props:
                name = "enable_dns_support" if attribute == "EnableDnsSupport" else "enable_dns_hostnames"
                ec2_backends[account_id][region_name].modify_vpc_attribute(vpc.id, name, str(props[attribute]).lower() == "true")
        return vpc

    VPC.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign,assignment]


def install_routes() -> None:
    """moto's AWS::EC2::Route drops DestinationIpv6CidrBlock, and makes a route to nowhere."""
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.route_tables import Route

    def create(cls: Any, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any) -> Any:
        props = cloudformation_json["Properties"]
        return ec2_backends[account_id][region_name].create_route(
            route_table_id=props["RouteTableId"],
            destination_cidr_block=props.get("DestinationCidrBlock"),
            destination_ipv6_cidr_block=props.get("DestinationIpv6CidrBlock"),
            gateway_id=props.get("GatewayId"),
            nat_gateway_id=props.get("NatGatewayId"),
            egress_only_igw_id=props.get("EgressOnlyInternetGatewayId"),
            transit_gateway_id=props.get("TransitGatewayId"),
            interface_id=props.get("NetworkInterfaceId"),
            vpc_peering_connection_id=props.get("VpcPeeringConnectionId"),
        )

    Route.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign,assignment]


DELETERS = {
    "AWS::EC2::RouteTable": _delete_route_table,
    "AWS::EC2::Route": _delete_route,
    "AWS::EC2::SubnetRouteTableAssociation": _disassociate,
    "AWS::EC2::VPCGatewayAttachment": _detach_gateway,
    "AWS::EC2::InternetGateway": _delete_internet_gateway,
    "AWS::EC2::NatGateway": _delete_nat_gateway,
    "AWS::EC2::EIP": _release_address,
    "AWS::EC2::VPCEndpoint": _delete_endpoint,
    "AWS::EC2::FlowLog": _delete_flow_log,
}
