"""Service stack: certificate and DNS, ALB, WAF, the Fargate service and its autoscaling."""

from __future__ import annotations

import json
from typing import Any

import pytest

from config import load_environment
from tests.synth import Synthesis, stack_outputs, synthesize


def _one(synth: Synthesis, type_name: str) -> dict[str, Any]:
    (resource,) = synth.resources("Service", type_name).values()
    return resource


def _api_container(synth: Synthesis) -> dict[str, Any]:
    """The backend's container (the task also runs the metrics collector)."""
    containers = _one(synth, "AWS::ECS::TaskDefinition")["Properties"]["ContainerDefinitions"]
    (api,) = [c for c in containers if c["Name"] == "api"]
    return api


def _attributes(resource: dict[str, Any], key: str) -> dict[str, str]:
    return {a["Key"]: a["Value"] for a in resource["Properties"][key]}


def _listeners(synth: Synthesis) -> dict[int, dict[str, Any]]:
    return {r["Properties"]["Port"]: r["Properties"] for r in synth.resources("Service", "AWS::ElasticLoadBalancingV2::Listener").values()}


@pytest.fixture(scope="module")
def with_certificate_arn(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    """Staging given an existing certificate instead of a domain, and (one synth for two variants:
    each costs seconds of every `make test`) its backend logging in with the master secret."""
    cfg = load_environment("staging")
    arn = "arn:aws:acm:us-west-2:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666"
    cfg = cfg.model_copy(
        update={
            "dns": cfg.dns.model_copy(update={"certificate_arn": arn}),
            "database": cfg.database.model_copy(update={"app_login": "master-secret"}),
        }
    )
    return synthesize(cfg, tmp_path_factory.mktemp("certificate-arn"))


# --- names the manual's commands use -------------------------------------------------------


def test_cluster_service_and_family_are_named_contractorlens(production: Synthesis) -> None:
    # aws ecs describe-services --cluster contractorlens --services contractorlens
    assert _one(production, "AWS::ECS::Cluster")["Properties"]["ClusterName"] == "contractorlens"
    assert _one(production, "AWS::ECS::Service")["Properties"]["ServiceName"] == "contractorlens"
    # aws ecs update-service ... --task-definition contractorlens:PREVIOUS_REVISION
    assert _one(production, "AWS::ECS::TaskDefinition")["Properties"]["Family"] == "contractorlens"


def test_application_logs_go_to_ecs_contractorlens(production: Synthesis) -> None:
    # aws logs tail /ecs/contractorlens --follow
    group = production.template("Service")["Resources"]["AppLogGroup"]
    assert group["Properties"]["LogGroupName"] == "/ecs/contractorlens"
    assert group["Properties"]["RetentionInDays"] == 365
    assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": ["ServiceKey", "Arn"]}
    assert group["DeletionPolicy"] == "RetainExceptOnCreate"
    container = _api_container(production)
    assert container["LogConfiguration"]["LogDriver"] == "awslogs"
    assert container["LogConfiguration"]["Options"]["awslogs-group"] == {"Ref": "AppLogGroup"}


# --- certificate and DNS ---------------------------------------------------------------------


def test_certificate_for_api_domain_validated_in_the_configured_zone(production: Synthesis) -> None:
    cert = _one(production, "AWS::CertificateManager::Certificate")["Properties"]
    assert cert["DomainName"] == "api.contractorlens.com"
    assert cert["ValidationMethod"] == "DNS"
    assert cert["DomainValidationOptions"] == [{"DomainName": "api.contractorlens.com", "HostedZoneId": "Z0123456789EXAMPLE0AB"}]


def test_a_and_aaaa_alias_records_point_at_the_alb(production: Synthesis) -> None:
    records = production.resources("Service", "AWS::Route53::RecordSet").values()
    by_type = {r["Properties"]["Type"]: r["Properties"] for r in records}
    assert set(by_type) == {"A", "AAAA"}
    for record in by_type.values():
        assert record["Name"] == "api.contractorlens.com."
        assert record["HostedZoneId"] == "Z0123456789EXAMPLE0AB"
        assert "DNSName" in json.dumps(record["AliasTarget"])


def test_without_a_domain_the_alb_serves_http_only_and_synth_says_so(staging: Synthesis) -> None:
    assert not staging.resources("Service", "AWS::CertificateManager::Certificate")
    assert not staging.resources("Service", "AWS::Route53::RecordSet")
    listeners = _listeners(staging)
    assert set(listeners) == {80}
    assert listeners[80]["Protocol"] == "HTTP"
    assert listeners[80]["DefaultActions"][0]["Type"] == "forward"
    metadata = json.loads((staging.outdir / "ContractorLens-Staging-Service.metadata.json").read_text())
    warnings = [e["data"] for entries in metadata.values() for e in entries if e["type"] == "aws:cdk:warning"]
    assert any("HTTP only" in w and "dns.domain" in w and "dns.certificate_arn" in w for w in warnings)


def test_an_existing_certificate_gives_https_without_a_domain(with_certificate_arn: Synthesis) -> None:
    listeners = _listeners(with_certificate_arn)
    assert set(listeners) == {80, 443}
    assert listeners[443]["Certificates"] == [
        {"CertificateArn": "arn:aws:acm:us-west-2:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666"}
    ]
    assert not with_certificate_arn.resources("Service", "AWS::Route53::RecordSet")
    metadata = json.loads((with_certificate_arn.outdir / "ContractorLens-Staging-Service.metadata.json").read_text())
    warnings = [e["data"] for entries in metadata.values() for e in entries if e["type"] == "aws:cdk:warning"]
    assert not [w for w in warnings if "HTTP only" in w]


# --- load balancer ---------------------------------------------------------------------------


def test_alb_is_internet_facing_dual_stack_in_public_subnets(production: Synthesis) -> None:
    alb = _one(production, "AWS::ElasticLoadBalancingV2::LoadBalancer")["Properties"]
    assert alb["Scheme"] == "internet-facing"
    assert alb["IpAddressType"] == "dualstack"
    assert all("PublicSubnet" in json.dumps(subnet) for subnet in alb["Subnets"])
    assert "SecurityGroupsAlb" in json.dumps(alb["SecurityGroups"])


def test_https_with_tls_12_or_13_and_http_redirected(production: Synthesis) -> None:
    listeners = _listeners(production)
    assert listeners[443]["Protocol"] == "HTTPS"
    # TLS 1.2 with forward-secret AEAD ciphers only (no CBC), and post-quantum key exchange offered.
    assert listeners[443]["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"
    redirect = listeners[80]["DefaultActions"][0]
    assert redirect["Type"] == "redirect"
    assert redirect["RedirectConfig"] == {"Port": "443", "Protocol": "HTTPS", "StatusCode": "HTTP_301"}


def test_alb_attributes(production: Synthesis, staging: Synthesis) -> None:
    prod = _attributes(_one(production, "AWS::ElasticLoadBalancingV2::LoadBalancer"), "LoadBalancerAttributes")
    assert prod["routing.http.drop_invalid_header_fields.enabled"] == "true"
    # Switched on by the stack's last step, never written by the template (tests/unit/test_lifecycle.py).
    assert "deletion_protection.enabled" not in prod
    # The manual's Gemini calls average up to 10 s; the idle timeout must comfortably exceed that.
    assert int(prod["idle_timeout.timeout_seconds"]) >= 30
    assert prod["access_logs.s3.enabled"] == "true"
    assert prod["access_logs.s3.bucket"] == {"Ref": "AccessLogsBucket"}
    stage = _attributes(_one(staging, "AWS::ElasticLoadBalancingV2::LoadBalancer"), "LoadBalancerAttributes")
    assert "deletion_protection.enabled" not in stage


def test_access_log_bucket_is_private_encrypted_retained_and_expiring(production: Synthesis) -> None:
    bucket = production.template("Service")["Resources"]["AccessLogsBucket"]
    props = bucket["Properties"]
    assert bucket["DeletionPolicy"] == "Retain"
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert all(props["PublicAccessBlockConfiguration"].values())
    (rule,) = props["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == 90
    policy = _one(production, "AWS::S3::BucketPolicy")["Properties"]["PolicyDocument"]["Statement"]
    assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in policy)


def test_target_group_checks_health_fast_and_drains_in_30_seconds(production: Synthesis) -> None:
    group = _one(production, "AWS::ElasticLoadBalancingV2::TargetGroup")["Properties"]
    assert group["HealthCheckPath"] == "/health"
    assert group["TargetType"] == "ip"
    assert group["Port"] == 3000
    # "healthy in about 30 s": the checks a new task must pass, end to end.
    assert group["HealthCheckIntervalSeconds"] * group["HealthyThresholdCount"] <= 30
    assert (
        int(
            _attributes(_one(production, "AWS::ElasticLoadBalancingV2::TargetGroup"), "TargetGroupAttributes")[
                "deregistration_delay.timeout_seconds"
            ]
        )
        <= 30
    )


# --- WAF -------------------------------------------------------------------------------------


def test_waf_uses_aws_managed_rules_and_a_rate_limit(production: Synthesis) -> None:
    acl = _one(production, "AWS::WAFv2::WebACL")["Properties"]
    assert acl["Scope"] == "REGIONAL"
    assert acl["DefaultAction"] == {"Allow": {}}
    managed = {r["Statement"]["ManagedRuleGroupStatement"]["Name"] for r in acl["Rules"] if "ManagedRuleGroupStatement" in r["Statement"]}
    assert managed == {
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
    }
    (rate,) = [r for r in acl["Rules"] if "RateBasedStatement" in r["Statement"]]
    assert rate["Action"] == {"Block": {}}
    assert rate["Statement"]["RateBasedStatement"]["Limit"] == production.cfg.service.waf_rate_limit
    assert len({r["Priority"] for r in acl["Rules"]}) == len(acl["Rules"])
    # The app's uploads are not blocked: the 8 KB body rule counts (production names no upload paths).
    (common,) = [r for r in acl["Rules"] if r["Name"] == "AWSManagedRulesCommonRuleSet"]
    assert {"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}} in common["Statement"]["ManagedRuleGroupStatement"][
        "RuleActionOverrides"
    ]
    assert production.cfg.service.waf_large_body_paths is None and len(acl["Rules"]) == 4


def test_waf_protects_the_alb_and_logs(production: Synthesis) -> None:
    association = _one(production, "AWS::WAFv2::WebACLAssociation")["Properties"]
    assert association["ResourceArn"] == {"Ref": next(iter(production.resources("Service", "AWS::ElasticLoadBalancingV2::LoadBalancer")))}
    logging = _one(production, "AWS::WAFv2::LoggingConfiguration")["Properties"]
    assert logging["LogDestinationConfigs"] == [
        {"Fn::Join": ["", ["arn:aws:logs:us-west-2:123456789012:log-group:", {"Ref": "WafLogGroup"}]]}
    ]  # the group's ARN without ":*", as WAF wants it
    group = production.template("Service")["Resources"]["WafLogGroup"]
    assert group["Properties"]["LogGroupName"] == "aws-waf-logs-contractorlens"


# --- the Fargate service ---------------------------------------------------------------------


def test_tasks_run_privately_with_the_app_group(production: Synthesis) -> None:
    network = _one(production, "AWS::ECS::Service")["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    assert all("PrivateSubnet" in json.dumps(s) for s in network["Subnets"])
    assert "SecurityGroupsApp" in json.dumps(network["SecurityGroups"])
    assert _one(production, "AWS::ECS::Service")["Properties"]["LaunchType"] == "FARGATE"


def test_image_is_the_configured_tag_of_the_registry_repository(production: Synthesis) -> None:
    container = _api_container(production)
    image = json.dumps(container["Image"])
    assert "/contractorlens:1.0.0" in image
    assert ".dkr.ecr.us-west-2." in image


def test_size_and_port_come_from_config(production: Synthesis) -> None:
    task = _one(production, "AWS::ECS::TaskDefinition")["Properties"]
    assert (task["Cpu"], task["Memory"]) == ("1024", "2048")
    container = _api_container(production)
    assert container["PortMappings"][0]["ContainerPort"] == 3000


def test_every_container_runs_as_a_non_root_user_within_a_hard_memory_limit(production: Synthesis, dr_active: Synthesis) -> None:
    """Control Tower's CT.ECS.PR.3 and PR.7: a user that is not root, a hard limit per container;
    the limits of a task's containers add up to no more than the task's memory."""
    for synth in (production, dr_active):
        for part in ("Service", "DR"):
            for task in synth.resources(part, "AWS::ECS::TaskDefinition").values():
                containers = task["Properties"]["ContainerDefinitions"]
                assert all(c["User"] not in ("", "0", "root") and not c["User"].startswith("0:") for c in containers)
                assert sum(c["Memory"] for c in containers) <= int(task["Properties"]["Memory"])
    api = _api_container(production)
    assert (api["User"], api["Memory"]) == ("1000", 2048 - 256)


def test_deployments_keep_capacity_and_roll_back(production: Synthesis) -> None:
    service = _one(production, "AWS::ECS::Service")
    deployment = service["Properties"]["DeploymentConfiguration"]
    assert deployment["MinimumHealthyPercent"] == 100
    assert deployment["MaximumPercent"] == 200
    assert deployment["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    assert service["Properties"]["DeploymentController"] == {"Type": "ECS"}
    alarms = deployment["Alarms"]
    assert alarms["Enable"] is True and alarms["Rollback"] is True
    names = {production.template("Service")["Resources"][a["Ref"]]["Properties"]["AlarmName"] for a in alarms["AlarmNames"]}
    assert names == {"contractorlens-production-api-error-rate", "contractorlens-production-api-p95-latency"}
    # The alarms must exist before the service that names them.
    assert {a["Ref"] for a in alarms["AlarmNames"]} <= set(service["DependsOn"])


def test_a_release_leaves_the_previous_revision_active_for_rollback(production: Synthesis, dr_active: Synthesis) -> None:
    """The manual's `deploy.sh rollback` goes back to the previous task definition revision; a
    CloudFormation update replaces the task definition and deregisters the old revision unless
    the replacement policy retains it (aws/aws-cdk#24372). The sandbox's rehearsal of a bad
    release and its rollback exercises this end to end."""
    for synthesis, part in ((production, "Service"), (dr_active, "DR")):
        (task,) = synthesis.resources(part, "AWS::ECS::TaskDefinition").values()
        assert task.get("UpdateReplacePolicy") == "Retain", part
        assert task.get("DeletionPolicy") == "RetainExceptOnCreate", part  # cfn-lint W3011: both, or neither protects


def test_rollback_alarms_measure_the_load_balancers_errors_and_latency(production: Synthesis) -> None:
    """Their numbers are the manual's (tests/unit/test_monitoring.py); here, what they measure."""
    alarms = {a["Properties"]["AlarmName"]: a["Properties"] for a in production.resources("Service", "AWS::CloudWatch::Alarm").values()}
    error_rate = alarms["contractorlens-production-api-error-rate"]
    expression = next(m["Expression"] for m in error_rate["Metrics"] if "Expression" in m)
    assert "target5xx" in expression and "elb5xx" in expression and "requests" in expression
    ids = {m["Id"]: m["MetricStat"]["Metric"]["MetricName"] for m in error_rate["Metrics"] if "MetricStat" in m}
    assert ids == {"target5xx": "HTTPCode_Target_5XX_Count", "elb5xx": "HTTPCode_ELB_5XX_Count", "requests": "RequestCount"}
    latency = alarms["contractorlens-production-api-p95-latency"]
    assert (latency["Namespace"], latency["MetricName"]) == ("AWS/ApplicationELB", "TargetResponseTime")
    for alarm in (error_rate, latency):
        warning_topic = "contractorlens-production-alerts-warning"
        assert warning_topic in json.dumps(alarm["AlarmActions"]) and warning_topic in json.dumps(alarm["OKActions"])


def test_secrets_are_injected_never_written(production: Synthesis) -> None:
    container = _api_container(production)
    secrets = {s["Name"]: json.dumps(s["ValueFrom"]) for s in container["Secrets"]}
    # The backend logs in as its own role with an IAM token: no database secret at all.
    assert set(secrets) == {"GEMINI_API_KEY"}
    assert secrets["GEMINI_API_KEY"] == json.dumps({"Ref": "GeminiApiKey"})
    gemini = production.template("Service")["Resources"]["GeminiApiKey"]
    assert gemini["Properties"]["Name"] == "contractorlens/gemini-api-key"
    assert gemini["DeletionPolicy"] == "RetainExceptOnCreate"
    environment = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert environment["FIREBASE_PROJECT_ID"] == "contractorlens-prod"
    assert not {"DB_PASSWORD", "GEMINI_API_KEY"} & set(environment)


def test_the_backend_logs_in_as_its_own_role_with_an_iam_token(production: Synthesis) -> None:
    """Issue 16: never a credential that expires under it, never the superuser."""
    environment = {e["Name"]: e["Value"] for e in _api_container(production)["Environment"]}
    assert environment["DB_USERNAME"] == "contractorlens_app" and environment["DB_AUTH"] == "iam"
    # The README's backend contract: TLS verify-full against the RDS CA bundle in the image.
    assert environment["DB_SSLMODE"] == "verify-full" and environment["DB_SSLROOTCERT"].endswith(".pem")
    task = _one(production, "AWS::ECS::TaskDefinition")["Properties"]
    task_role = task["TaskRoleArn"]["Fn::GetAtt"][0]
    (policy,) = [
        p["Properties"]
        for p in production.resources("Service", "AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": task_role}]
    ]
    connect = [s for s in policy["PolicyDocument"]["Statement"] if "rds-db:connect" in json.dumps(s["Action"])]
    assert connect == [
        {"Action": "rds-db:connect", "Effect": "Allow", "Resource": "arn:aws:rds-db:us-west-2:123456789012:dbuser:*/contractorlens_app"}
    ]
    # The master secret's parameter is not read by this stack.
    assert "/contractorlens/production/db/secret-arn" not in json.dumps(production.template("Service")["Parameters"])


def test_on_the_master_secret_the_backend_gets_it_and_no_token(with_certificate_arn: Synthesis) -> None:
    """database.app_login = "master-secret": the way a backend not yet on the contract logs in."""
    synth = with_certificate_arn
    secrets = {s["Name"]: json.dumps(s["ValueFrom"]) for s in _api_container(synth)["Secrets"]}
    assert set(secrets) == {"DB_USERNAME", "DB_PASSWORD", "GEMINI_API_KEY"}
    # The master secret RDS manages, by the ARN the Data stack keeps in Parameter Store (resolved at deploy).
    (ref,) = {p["Ref"] for p in json.loads(secrets["DB_PASSWORD"])["Fn::Join"][1] if isinstance(p, dict)}
    parameter = synth.template("Service")["Parameters"][ref]
    assert parameter == {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/contractorlens/staging/db/secret-arn"}
    assert ref in secrets["DB_USERNAME"] and ":username::" in secrets["DB_USERNAME"]
    assert ":password::" in secrets["DB_PASSWORD"]
    environment = {e["Name"] for e in _api_container(synth)["Environment"]}
    assert "DB_AUTH" not in environment and "rds-db:connect" not in json.dumps(synth.resources("Service", "AWS::IAM::Policy"))
    # The data key decrypts for the execution role only through Secrets Manager (the secret it injects).
    statements = [
        s for p in synth.resources("Service", "AWS::IAM::Policy").values() for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    (decrypt,) = [s for s in statements if s["Action"] == "kms:Decrypt" and "DataKey" in json.dumps(s["Resource"])]
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.us-west-2.amazonaws.com"}}


def test_task_and_execution_roles_are_separate_and_narrow(production: Synthesis) -> None:
    task = _one(production, "AWS::ECS::TaskDefinition")["Properties"]
    assert task["TaskRoleArn"] != task["ExecutionRoleArn"]
    policies = {
        p["Roles"][0]["Ref"]: list(p["PolicyDocument"]["Statement"])
        for p in (r["Properties"] for r in production.resources("Service", "AWS::IAM::Policy").values())
    }
    task_role = task["TaskRoleArn"]["Fn::GetAtt"][0]
    execution_role = task["ExecutionRoleArn"]["Fn::GetAtt"][0]
    task_actions = {a for s in policies[task_role] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    # The app itself gets ECS Exec's channel and its session logs (and rds-db:connect, above), nothing else.
    assert not [a for a in task_actions if a.startswith(("ecr:", "secretsmanager:", "s3:", "rds:", "iam:"))]
    execution_actions = {a for s in policies[execution_role] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert {"ecr:BatchGetImage", "secretsmanager:GetSecretValue"} <= execution_actions


def test_ecs_exec_is_on_encrypted_and_logged(production: Synthesis) -> None:
    assert _one(production, "AWS::ECS::Service")["Properties"]["EnableExecuteCommand"] is True
    config = _one(production, "AWS::ECS::Cluster")["Properties"]["Configuration"]["ExecuteCommandConfiguration"]
    assert config["Logging"] == "OVERRIDE"
    assert config["KmsKeyId"] == {"Fn::GetAtt": ["ExecSessionKey", "Arn"]}
    assert production.template("Service")["Resources"]["ExecSessionKey"]["DeletionPolicy"] == "RetainExceptOnCreate"
    assert config["LogConfiguration"]["CloudWatchEncryptionEnabled"] is True
    assert config["LogConfiguration"]["CloudWatchLogGroupName"] == {"Ref": "ExecLogGroup"}


def test_container_insights_on(production: Synthesis) -> None:
    settings = _one(production, "AWS::ECS::Cluster")["Properties"]["ClusterSettings"]
    assert {"Name": "containerInsights", "Value": "enabled"} in settings


# --- autoscaling -----------------------------------------------------------------------------


def test_desired_count_is_left_to_autoscaling(production: Synthesis) -> None:
    """A template desired count would reset a scaled-out service on every deploy."""
    assert "DesiredCount" not in _one(production, "AWS::ECS::Service")["Properties"]


def test_scaling_floor_and_ceiling(production: Synthesis) -> None:
    target = _one(production, "AWS::ApplicationAutoScaling::ScalableTarget")["Properties"]
    assert target["MinCapacity"] >= 2  # "Active ECS Tasks: >= 2 running tasks"
    assert target["MaxCapacity"] >= 6  # room for the manual's "--desired-count 4" and more


def test_target_tracking_stays_below_the_manuals_70_percent(production: Synthesis) -> None:
    policies = [
        p["Properties"]["TargetTrackingScalingPolicyConfiguration"]
        for p in production.resources("Service", "AWS::ApplicationAutoScaling::ScalingPolicy").values()
    ]
    by_metric = {p["PredefinedMetricSpecification"]["PredefinedMetricType"]: p["TargetValue"] for p in policies}
    assert set(by_metric) == {"ECSServiceAverageCPUUtilization", "ECSServiceAverageMemoryUtilization", "ALBRequestCountPerTarget"}
    assert by_metric["ECSServiceAverageCPUUtilization"] < 70
    assert by_metric["ECSServiceAverageMemoryUtilization"] < 70


# --- outputs ---------------------------------------------------------------------------------


def test_outputs_for_people_and_the_runbook(production: Synthesis, staging: Synthesis) -> None:
    outputs = production.template("Service")["Outputs"]
    assert outputs["ApiUrl"]["Value"] == "https://api.contractorlens.com"
    assert {"LoadBalancerDnsName", "ClusterName", "ServiceName", "TargetGroupArn"} <= set(outputs)
    staging_url = staging.template("Service")["Outputs"]["ApiUrl"]["Value"]
    assert json.dumps(staging_url).startswith('{"Fn::Join": ["", ["http://"')


def test_logs_may_use_the_service_key_for_its_own_log_groups_only(production: Synthesis) -> None:
    """CDK's ECS Exec support grants CloudWatch Logs a key for every log group of the account;
    that grant must not reach the key of /ecs/contractorlens and the Gemini API key."""
    statements = production.template("Service")["Resources"]["ServiceKey"]["Properties"]["KeyPolicy"]["Statement"]
    for statement in statements:
        if "logs." in json.dumps(statement.get("Principal")):
            arn = statement["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
            assert arn.rsplit(":log-group:", 1)[1] in (
                "/ecs/contractorlens",
                "/ecs/contractorlens/exec",
                "aws-waf-logs-contractorlens",
            )


def test_the_data_keys_output_outlives_the_service_templates_that_read_it(production: Synthesis, with_certificate_arn: Synthesis) -> None:
    """A Service stack still on the master secret reads the data key through a Data stack output
    (Fn::GetStackOutput). With IAM login nothing reads it, but a failed Service update rolls back
    to such a template, which CloudFormation resolves again: the Data stack keeps the output."""
    reads = {
        found["OutputName"] for found in stack_outputs(with_certificate_arn.template("Service")) if found["StackName"].endswith("-Data")
    }
    assert reads, "the master-secret Service no longer reads the data key through an output"
    for synth in (production, with_certificate_arn):
        outputs = synth.template("Data").get("Outputs", {})
        for name in reads:
            assert outputs[name]["Value"] == {"Fn::GetAtt": ["DataKey", "Arn"]}, synth.cfg.name
