"""cdk_constructs/api_domain.py: the API's name, its certificate, and its records."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_route53 as route53

from cdk_constructs.api_domain import ApiDomain
from tests.cdk_constructs.conftest import built, of_type, one, vpc


def _domain(stack: Stack, *, failover: route53.Failover | None = None) -> ApiDomain:
    domain = ApiDomain(stack, "Domain", host_label="api", domain="example.com", hosted_zone_id="Z0123456789EXAMPLE")
    alb = elbv2.ApplicationLoadBalancer(stack, "Alb", vpc=vpc(stack), internet_facing=True)
    alb.add_listener("Http", port=80, default_action=elbv2.ListenerAction.fixed_response(200))
    domain.point_at(alb, failover=failover)
    return domain


def _records(template: Any) -> list[dict[str, Any]]:
    return [r["Properties"] for r in of_type(template, "AWS::Route53::RecordSet").values() if r["Properties"]["Type"] in ("A", "AAAA")]


def test_the_certificate_is_for_the_host_and_validated_in_the_zone() -> None:
    domain, template = built(lambda stack: _domain(stack))
    props = one(template, "AWS::CertificateManager::Certificate")["Properties"]
    assert props["DomainName"] == domain.host_name == "api.example.com"
    assert props["DomainValidationOptions"] == [{"DomainName": "api.example.com", "HostedZoneId": "Z0123456789EXAMPLE"}]


def test_a_plain_name_has_an_a_and_an_aaaa_alias_without_routing() -> None:
    _, template = built(lambda stack: _domain(stack))
    records = _records(template)
    assert sorted(r["Type"] for r in records) == ["A", "AAAA"]
    assert all(r["Name"] == "api.example.com." and "Failover" not in r for r in records)


def test_a_failover_record_evaluates_the_balancers_health_and_names_its_region() -> None:
    _, template = built(lambda stack: _domain(stack, failover=route53.Failover.SECONDARY), region="us-east-1")
    for record in _records(template):
        assert (record["Failover"], record["SetIdentifier"]) == ("SECONDARY", "secondary-us-east-1")
        assert record["AliasTarget"]["EvaluateTargetHealth"] is True
