"""cdk_constructs/load_balancer.py: the internet-facing, dual-stack load balancer."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk.assertions import Template

from cdk_constructs.load_balancer import PublicLoadBalancer
from tests.cdk_constructs.conftest import built, of_type, one, vpc

CERTIFICATE = "arn:aws:acm:us-west-2:123456789012:certificate/00000000-0000-0000-0000-000000000000"


def _balancer(*, https: bool, protected: bool) -> tuple[PublicLoadBalancer, Template]:
    def build(stack: Stack) -> PublicLoadBalancer:
        network = vpc(stack)
        balancer = PublicLoadBalancer(
            stack, "LoadBalancer", vpc=network, security_group=ec2.SecurityGroup(stack, "Group", vpc=network),
            certificate=acm.Certificate.from_certificate_arn(stack, "Certificate", CERTIFICATE) if https else None,
            idle_timeout=Duration.seconds(60), deletion_protection=protected, access_log_expiry_days=90,
        )  # fmt: skip
        # What the service would forward to; a listener without an action does not synthesize.
        balancer.listener.add_action("Default", action=elbv2.ListenerAction.fixed_response(404))
        return balancer

    return built(build)


@pytest.fixture(scope="module")
def https() -> tuple[PublicLoadBalancer, Template]:
    return _balancer(https=True, protected=True)


def _listeners(template: Template) -> dict[int, dict[str, Any]]:
    return {
        listener["Properties"]["Port"]: listener["Properties"]
        for listener in of_type(template, "AWS::ElasticLoadBalancingV2::Listener").values()
    }


def test_with_a_certificate_443_serves_tls_1_2_and_up_and_80_redirects_to_it(https: Any) -> None:
    listeners = _listeners(https[1])
    assert listeners[443]["Protocol"] == "HTTPS" and listeners[443]["SslPolicy"].startswith("ELBSecurityPolicy-TLS13-1-2")
    assert listeners[80]["DefaultActions"][0]["RedirectConfig"]["Port"] == "443"


def test_without_one_it_serves_http_on_80_only() -> None:
    balancer, template = _balancer(https=False, protected=False)
    assert not balancer.https
    assert set(_listeners(template)) == {80} and _listeners(template)[80]["Protocol"] == "HTTP"


def test_it_is_dual_stack_and_drops_invalid_headers(https: Any) -> None:
    props = one(https[1], "AWS::ElasticLoadBalancingV2::LoadBalancer")["Properties"]
    assert (props["Scheme"], props["IpAddressType"]) == ("internet-facing", "dualstack")
    attributes = {a["Key"]: a["Value"] for a in props["LoadBalancerAttributes"]}
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"


def test_deletion_protection_is_not_in_the_template_but_a_last_step(https: Any) -> None:
    """So a failed first create can still delete the load balancer (cdk_constructs/protection.py)."""
    props = one(https[1], "AWS::ElasticLoadBalancingV2::LoadBalancer")["Properties"]
    assert "deletion_protection.enabled" not in {a["Key"] for a in props["LoadBalancerAttributes"]}
    (step,) = of_type(https[1], "Custom::AWS").values()
    assert "modifyLoadBalancerAttributes" in str(step["Properties"]["Create"])
    unprotected = _balancer(https=True, protected=False)[1]
    assert not of_type(unprotected, "Custom::AWS")


def test_access_logs_go_to_an_encrypted_expiring_bucket_that_is_kept(https: Any) -> None:
    bucket = one(https[1], "AWS::S3::Bucket")
    assert bucket["DeletionPolicy"] == "Retain"
    (rule,) = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == 90
    attributes = {
        a["Key"]: a["Value"] for a in one(https[1], "AWS::ElasticLoadBalancingV2::LoadBalancer")["Properties"]["LoadBalancerAttributes"]
    }
    assert attributes["access_logs.s3.enabled"] == "true"
