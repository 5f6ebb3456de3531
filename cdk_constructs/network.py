"""The VPC of one region and the security groups the manual names."""

from __future__ import annotations

from collections.abc import Sequence

import jsii
from aws_cdk import AspectPriority, Aspects, IAspect, Stack
from aws_cdk import aws_ec2 as ec2
from constructs import Construct, IConstruct

from cdk_constructs.compliance import CONTROL_TOWER, acknowledge
from cdk_constructs.keys import customer_key
from cdk_constructs.logs import encrypted_log_group

POSTGRES_PORT = 5432


# CDK's own "no traffic" rule: no address is 255.255.255.255, and ICMP type 252 code 86 is unused.
_NO_TRAFFIC = {"CidrIp": "255.255.255.255/32", "Description": "Disallow all traffic", "FromPort": 252, "IpProtocol": "icmp", "ToPort": 86}


def keep_default_egress_closed(group: ec2.SecurityGroup) -> None:
    """Keep CDK's "disallow all traffic" rule inline in a group whose only egress goes to other groups.

    EC2 adds an allow-all egress rule to a group created with no egress rules of its own
    (CloudFormation template reference, AWS::EC2::SecurityGroup). CDK drops its placeholder as soon
    as any egress rule is added, even one it writes as a separate AWS::EC2::SecurityGroupEgress
    (a rule to another group); CloudFormation revokes the allow-all rule only when that resource
    is created (aws/aws-cdk#987), so the group was open to everything until then, and to anyone
    reading the template. The check runs at synthesis, once every rule is in (load balancer and
    service wiring add theirs late); a no-op for a group that allows all outbound on purpose.
    """
    if not group.allow_all_outbound:
        Aspects.of(group).add(_ClosedEgress(), priority=AspectPriority.MUTATING)


@jsii.implements(IAspect)
class _ClosedEgress:
    def visit(self, node: IConstruct) -> None:
        if isinstance(node, ec2.CfnSecurityGroup) and not Stack.of(node).resolve(node.security_group_egress):
            node.add_property_override("SecurityGroupEgress", [_NO_TRAFFIC])


class AppNetwork(Construct):
    """A three-tier VPC: public (ALB), private with egress (tasks), isolated (database).

    Subnet sizes follow the VPC's prefix: private subnets get 1/16 of the block each, public
    and isolated 1/256, so a /16 gives /20 private and /24 public and isolated subnets.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cidr: str,
        availability_zones: Sequence[str],
        nat_gateways: int,
        flow_log_group_name: str,
        flow_log_retention_days: int,
        interface_endpoints: bool = True,
    ) -> None:
        """
        :param cidr: the VPC's IPv4 block, /16 to /18.
        :param availability_zones: explicit zones, so synth never looks them up.
        :param nat_gateways: NAT gateways, one per zone at most.
        :param flow_log_group_name: name of the flow-log group (retained on delete).
        :param flow_log_retention_days: how long flow logs are kept, in days.
        :param interface_endpoints: add ECR, Logs, Secrets Manager and SSM endpoints. Default: True.
        """
        super().__init__(scope, construct_id)
        prefix = int(cidr.split("/")[1])
        if not 16 <= prefix <= 18:
            raise ValueError(f"cidr {cidr}: AppNetwork needs a /16 to /18 block")
        if not 1 <= nat_gateways <= len(availability_zones):
            raise ValueError(f"nat_gateways {nat_gateways}: expected 1 to {len(availability_zones)}")

        self.vpc = self._vpc(cidr, prefix=prefix, availability_zones=availability_zones, nat_gateways=nat_gateways)
        self._flow_logs(flow_log_group_name, retention_days=flow_log_retention_days)
        self._acknowledge_findings()

        # Images and layers come from S3 through ECR; the gateway endpoint is free.
        self.vpc.add_gateway_endpoint("S3Endpoint", service=ec2.GatewayVpcEndpointAwsService.S3)
        self.endpoint_security_group: ec2.SecurityGroup | None = None
        if interface_endpoints:
            self._add_interface_endpoints(cidr)

    def _vpc(self, cidr: str, *, prefix: int, availability_zones: Sequence[str], nat_gateways: int) -> ec2.Vpc:
        return ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(cidr),
            # Dual stack, so the API's AAAA record reaches the load balancer over IPv6 too.
            ip_protocol=ec2.IpProtocol.DUAL_STACK,
            availability_zones=list(availability_zones),
            nat_gateways=nat_gateways,
            # The default group of a VPC would otherwise allow all traffic between its members.
            restrict_default_security_group=True,
            subnet_configuration=[
                # The ALB and the NAT gateways get their addresses explicitly; nothing else
                # launched in any subnet gets a public IPv4 or an (always public) IPv6 address.
                ec2.SubnetConfiguration(
                    name="Public",
                    subnet_type=ec2.SubnetType.PUBLIC,
                    cidr_mask=prefix + 8,
                    map_public_ip_on_launch=False,
                    ipv6_assign_address_on_creation=False,
                ),
                ec2.SubnetConfiguration(
                    name="Private",
                    subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS,
                    cidr_mask=prefix + 4,
                    ipv6_assign_address_on_creation=False,
                ),
                ec2.SubnetConfiguration(
                    name="Isolated",
                    subnet_type=ec2.SubnetType.PRIVATE_ISOLATED,
                    cidr_mask=prefix + 8,
                    ipv6_assign_address_on_creation=False,
                ),
            ],
        )

    def _flow_logs(self, group_name: str, *, retention_days: int) -> None:
        """Every flow of the VPC, into an encrypted, retained log group."""
        self.logs_key = customer_key(
            self,
            "LogsKey",
            description=f"Encrypts the VPC flow logs in {group_name}",
        )
        self.flow_log_group = encrypted_log_group(
            self,
            "FlowLogGroup",
            name=group_name,
            retention_days=retention_days,
            key=self.logs_key,
        )
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(self.flow_log_group),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )

    def _acknowledge_findings(self) -> None:
        for subnet in self.vpc.public_subnets:
            acknowledge(
                subnet,
                "NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW",
                "Public subnets exist to route to the internet: they hold only the internet-facing ALB "
                "and the NAT gateways; tasks and the database sit in private and isolated subnets.",
            )
        acknowledge(
            self.vpc,
            "CloudFormation-Validate::W3010",
            "Zones are explicit on purpose: they come from config so that synth never asks the account, "
            "and a subnet's zone must not move under a running database.",
        )
        acknowledge(
            self.vpc,
            "NIST.800.53.R5-IAMNoInlinePolicy",
            "The flow-log role's policy is generated by CDK for this one log group and this role only.",
        )
        # The provider CDK adds beside the VPC (at the stack's root) for restrict_default_security_group.
        provider = Stack.of(self).node.try_find_child("Custom::VpcRestrictDefaultSGCustomResourceProvider")
        if provider is not None:
            acknowledge(
                provider,
                f"{CONTROL_TOWER}lambda_inside_vpc_check",
                "CDK's function that removes the default security group's rules runs only while CloudFormation "
                "deploys the VPC; it calls the EC2 API and reaches nothing inside the VPC.",
            )

    def _add_interface_endpoints(self, cidr: str) -> None:
        """What a Fargate task in a private subnet calls before it serves a request."""
        group = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=self.vpc,
            description="Interface endpoints: HTTPS from inside the VPC",
            allow_all_outbound=False,
        )
        group.add_ingress_rule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), "HTTPS from the VPC")
        self.endpoint_security_group = group
        services = {
            "EcrApiEndpoint": ec2.InterfaceVpcEndpointAwsService.ECR,
            "EcrDockerEndpoint": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
            "LogsEndpoint": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
            "SecretsManagerEndpoint": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
            "SsmEndpoint": ec2.InterfaceVpcEndpointAwsService.SSM,
        }
        for endpoint_id, service in services.items():
            self.vpc.add_interface_endpoint(
                endpoint_id,
                service=service,
                private_dns_enabled=True,
                open=False,  # our group already admits 443 from the VPC block, as a literal
                security_groups=[group],
                subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            )


class TierSecurityGroups(Construct):
    """The manual's three security groups and the only paths between them.

    internet (IPv4 and IPv6) -> ALB on 80/443; ALB -> app on the container port; app -> database on 5432.
    Egress is as narrow as ingress: the ALB only reaches the app, the database nothing.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        alb_group_name: str,
        app_group_name: str,
        db_group_name: str,
        container_port: int,
    ) -> None:
        """
        :param vpc: the VPC the groups belong to.
        :param alb_group_name: group name of the load balancer's group (manual: contractorlens-alb-sg).
        :param app_group_name: group name of the tasks' group (manual: contractorlens-app-sg).
        :param db_group_name: group name of the database's group (contractorlens-db-sg).
        :param container_port: the only port the app group accepts, and only from the ALB.
        """
        super().__init__(scope, construct_id)

        def group(group_id: str, name: str, description: str) -> ec2.SecurityGroup:
            return ec2.SecurityGroup(
                self,
                group_id,
                vpc=vpc,
                security_group_name=name,
                description=description,
                allow_all_outbound=False,
            )

        self.alb = group("Alb", alb_group_name, "ContractorLens load balancer: HTTPS and HTTP from the internet")
        self.app = group("App", app_group_name, "ContractorLens backend tasks: container port from the ALB only")
        self.db = group("Database", db_group_name, "ContractorLens PostgreSQL: 5432 from the backend only")

        # The load balancer is dual-stack: the internet is IPv4 and IPv6.
        for peer in (ec2.Peer.any_ipv4(), ec2.Peer.any_ipv6()):
            self.alb.add_ingress_rule(peer, ec2.Port.tcp(443), "HTTPS from the internet")
            self.alb.add_ingress_rule(peer, ec2.Port.tcp(80), "HTTP from the internet, redirected to HTTPS")
        self.alb.add_egress_rule(self.app, ec2.Port.tcp(container_port), "To the backend tasks")
        keep_default_egress_closed(self.alb)

        self.app.add_ingress_rule(self.alb, ec2.Port.tcp(container_port), "From the load balancer")
        self.app.add_egress_rule(self.db, ec2.Port.tcp(POSTGRES_PORT), "To PostgreSQL")
        # Gemini, Firebase and the AWS APIs are all HTTPS; nothing else leaves the tasks.
        self.app.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to Gemini, Firebase and AWS APIs")

        self.db.add_ingress_rule(self.app, ec2.Port.tcp(POSTGRES_PORT), "From the backend tasks")

        acknowledge(
            self.alb,
            "AwsSolutions-EC23",
            "The internet-facing ALB must accept HTTPS, and HTTP to redirect it, from any address: "
            "it is the public entry point of the iOS app's API.",
        )
