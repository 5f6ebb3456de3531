"""The API's public name: `api.<domain>`, its certificate, and the records that point at the ALB."""

from __future__ import annotations

from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as targets
from constructs import Construct

API_HOST_LABEL = "api"


class ApiDomain(Construct):
    """A DNS-validated ACM certificate for `api.<domain>` in an existing public hosted zone.

    The zone is named by id and domain, never looked up, so synth needs no AWS account.
    """

    def __init__(self, scope: Construct, construct_id: str, *, domain: str, hosted_zone_id: str) -> None:
        """
        :param domain: the apex domain, e.g. contractorlens.com; the API is `api.<domain>`.
        :param hosted_zone_id: the public hosted zone of `domain`.
        """
        super().__init__(scope, construct_id)
        self.host_name = f"{API_HOST_LABEL}.{domain}"
        self.zone = route53.HostedZone.from_hosted_zone_attributes(
            self, "Zone", hosted_zone_id=hosted_zone_id, zone_name=domain
        )
        self.certificate = acm.Certificate(
            self,
            "Certificate",
            domain_name=self.host_name,
            validation=acm.CertificateValidation.from_dns(self.zone),
        )

    def point_at(self, load_balancer: elbv2.IApplicationLoadBalancer) -> None:
        """A and AAAA alias records `api.<domain>` -> the load balancer (which is dual-stack)."""
        target = route53.RecordTarget.from_alias(targets.LoadBalancerTarget(load_balancer))
        route53.ARecord(self, "AliasIpv4", zone=self.zone, record_name=API_HOST_LABEL, target=target)
        route53.AaaaRecord(self, "AliasIpv6", zone=self.zone, record_name=API_HOST_LABEL, target=target)
