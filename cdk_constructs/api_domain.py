"""The API's public name: `api.<domain>`, its certificate, and the records that point at the ALB."""

from __future__ import annotations

import jsii
from aws_cdk import Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as targets
from constructs import Construct


class ApiDomain(Construct):
    """A DNS-validated ACM certificate for `<host_label>.<domain>` in an existing public hosted zone.

    The zone is named by id and domain, never looked up, so synth needs no AWS account.
    """

    def __init__(self, scope: Construct, construct_id: str, *, host_label: str, domain: str, hosted_zone_id: str) -> None:
        """
        :param host_label: the API's label in the zone (the manual: api, for api.contractorlens.com).
        :param domain: the apex domain, e.g. contractorlens.com.
        :param hosted_zone_id: the public hosted zone of `domain`.
        """
        super().__init__(scope, construct_id)
        self._host_label = host_label
        self.host_name = f"{host_label}.{domain}"
        self.zone = route53.HostedZone.from_hosted_zone_attributes(self, "Zone", hosted_zone_id=hosted_zone_id, zone_name=domain)
        self.certificate = acm.Certificate(
            self,
            "Certificate",
            domain_name=self.host_name,
            validation=acm.CertificateValidation.from_dns(self.zone),
        )

    def point_at(
        self,
        load_balancer: elbv2.IApplicationLoadBalancer,
        *,
        failover: route53.Failover | None = None,
        health_check: route53.IHealthCheck | None = None,
    ) -> None:
        """A and AAAA alias records of the host name -> the load balancer (which is dual-stack).

        :param load_balancer: the target.
        :param failover: PRIMARY or SECONDARY of a failover pair; None for a plain record.
        :param health_check: decides when a PRIMARY record stops answering. Default: none.
        """
        # A failover alias must evaluate the ALB's health: a region with no healthy target then
        # answers no more than one whose health check fails.
        target = route53.RecordTarget.from_alias(targets.LoadBalancerTarget(load_balancer, _TargetHealth(evaluate=failover is not None)))
        set_identifier = f"{failover.value.lower()}-{Stack.of(self).region}" if failover is not None else None
        for record, record_id in ((route53.ARecord, "AliasIpv4"), (route53.AaaaRecord, "AliasIpv6")):
            record(
                self,
                record_id,
                zone=self.zone,
                record_name=self._host_label,
                target=target,
                failover=failover,
                set_identifier=set_identifier,
                health_check=health_check if failover is not None else None,
            )


@jsii.implements(targets.IAliasRecordTargetProps)
class _TargetHealth:
    """`IAliasRecordTargetProps` is a jsii interface, not a struct: Python implements it."""

    def __init__(self, *, evaluate: bool) -> None:
        self._evaluate = evaluate

    @property
    def evaluate_target_health(self) -> bool:
        return self._evaluate

    @property
    def hosted_zone_id(self) -> None:
        return None
