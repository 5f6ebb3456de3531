"""logs, certs and security-review against moto."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from runbook.aws import Aws
from tests.runbook.conftest import FAST, PRIMARY, World


def test_logs_filter_the_manuals_failed_logins(world: World, run) -> None:
    result = run("logs", "--filter", "FAILED_LOGIN", "--since", "10m", "--json", *FAST)
    assert result.code == 0, result.err
    assert json.loads(result.out)["data"]["events"] == 2


def test_logs_quote_a_phrase_as_the_manual_does(world: World, run) -> None:
    result = run("logs", "--filter", "slow query", *FAST)
    assert result.code == 0 and "slow query 2300 ms" in result.out and '"slow query"' in result.out


def test_logs_tail_everything_recent(world: World, run) -> None:
    result = run("logs", "--json", *FAST)
    assert json.loads(result.out)["data"]["events"] == 4


def test_logs_follow_prints_new_events_until_ctrl_c(world: World, run, monkeypatch: pytest.MonkeyPatch) -> None:
    """The manual's `aws logs tail --follow`: an event written while following is printed once,
    and Ctrl-C ends the command normally with what it printed."""
    import time

    from runbook import security

    logs, polls = boto3.client("logs", region_name=PRIMARY), []

    def poll(seconds: float) -> None:
        polls.append(seconds)
        if len(polls) == 1:
            event = {"timestamp": int(time.time() * 1000), "message": "GeminiAPI ERROR quota exceeded"}
            logs.put_log_events(logGroupName="/ecs/contractorlens", logStreamName="contractorlens/api/1", logEvents=[event])
        elif len(polls) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(security.time, "sleep", poll)
    result = run("logs", "--follow", *FAST)
    assert result.code == 0, result.err
    assert result.out.count("GeminiAPI ERROR quota exceeded") == 1 and result.out.count("FAILED_LOGIN user=a@example.com") == 1
    assert "ok    logs: 5 event(s) in total in /ecs/contractorlens over the last 10m, then followed until Ctrl-C" in result.out


def test_logs_reject_a_bad_since(world: World, run) -> None:
    result = run("logs", "--since", "ten minutes", *FAST)
    assert result.code == 2 and "e.g. 30s, 10m, 2h, 1d" in result.err


def _certificate(domain: str, days: int) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), private


@pytest.mark.parametrize("region", ["us-west-2", "us-east-1"])
def test_certs_pass_when_valid_for_long(aws: None, run, region: str) -> None:
    cert, key = _certificate("api.contractorlens.com", 300)
    boto3.client("acm", region_name=region).import_certificate(Certificate=cert, PrivateKey=key)
    result = run("certs", *FAST)
    assert result.code == 0, result.out + result.err
    assert "1 checked" in result.out


def test_certs_flag_one_expiring_within_30_days(aws: None, run) -> None:
    cert, key = _certificate("api.contractorlens.com", 10)
    boto3.client("acm", region_name="us-east-1").import_certificate(Certificate=cert, PrivateKey=key)
    result = run("certs", *FAST)
    assert result.code == 1 and "api.contractorlens.com (us-east-1) expires" in result.out


def test_certs_flag_pending_validation(aws: None, run) -> None:
    boto3.client("acm", region_name=PRIMARY).request_certificate(DomainName="api.contractorlens.com", ValidationMethod="DNS")
    result = run("certs", *FAST)
    assert result.code == 1 and "PENDING_VALIDATION" in result.out


def _groups(vpc: str, *, app_ssh_open: bool, alb_default_egress: bool = False) -> None:
    """The three groups as the Network stack makes them: EC2's default allow-all egress replaced by
    the template's egress rules (the ALB's only to the app, the app's HTTPS out), unless asked for."""
    ec2 = boto3.client("ec2", region_name=PRIMARY)
    ids = {
        role: ec2.create_security_group(GroupName=f"contractorlens-{role}-sg", Description=role, VpcId=vpc)["GroupId"]
        for role in ("alb", "app", "db")
    }
    everything = [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    for role, group in ids.items():
        if role != "alb" or not alb_default_egress:
            ec2.revoke_security_group_egress(GroupId=group, IpPermissions=everything)
    egress = {
        "alb": {"IpProtocol": "tcp", "FromPort": 3000, "ToPort": 3000, "UserIdGroupPairs": [{"GroupId": ids["app"]}]},
        "app": {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
    }
    for role, rule in egress.items():
        ec2.authorize_security_group_egress(GroupId=ids[role], IpPermissions=[rule])
    for port in (80, 443):
        ec2.authorize_security_group_ingress(
            GroupId=ids["alb"],
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": port,
                    "ToPort": port,
                    "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
                    "Ipv6Ranges": [{"CidrIpv6": "::/0"}],
                }
            ],
        )
    ec2.authorize_security_group_ingress(
        GroupId=ids["app"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 3000, "ToPort": 3000, "UserIdGroupPairs": [{"GroupId": ids["alb"]}]}],
    )
    if app_ssh_open:
        ec2.authorize_security_group_ingress(
            GroupId=ids["app"], IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
        )


def test_security_review_passes_the_manuals_groups(world: World, run) -> None:
    _groups(world.vpc_id, app_ssh_open=False)
    result = run("security-review", "--json", *FAST)
    assert result.code == 0, result.out + result.err
    document = json.loads(result.out)
    assert document["data"]["failed_logins_24h"] == 2


def test_security_review_flags_a_group_open_to_the_internet(world: World, run) -> None:
    _groups(world.vpc_id, app_ssh_open=True)
    result = run("security-review", *FAST)
    assert result.code == 1
    assert "contractorlens-app-sg (us-west-2) tcp 22-22 from 0.0.0.0/0" in result.out
    assert "alb-sg" not in result.out.split("open to the internet:")[1]


def test_security_review_flags_a_group_left_with_ec2s_allow_all_egress(world: World, run) -> None:
    """A group with EC2's default allow-all egress: made or changed by hand, or the moments after its
    create before CloudFormation adds its egress rules (README: Security groups)."""
    _groups(world.vpc_id, app_ssh_open=False, alb_default_egress=True)
    result = run("security-review", *FAST)
    assert result.code == 1
    (finding,) = result.out.split("open to the internet: ")[1].splitlines()[:1]
    assert finding == "contractorlens-alb-sg (us-west-2) -1 all to 0.0.0.0/0"


def test_security_review_fails_when_no_group_is_found(world: World, run) -> None:
    result = run("security-review", *FAST)
    assert result.code == 1 and "is the environment deployed?" in result.out


def _stacks_with_a_key(aws: Aws) -> str:
    """The primary region's stacks as CloudFormation lists them: the Data stack holds one key,
    the others do not exist (moto's own CloudFormation stores a key policy its KMS then cannot
    read, so the listing is answered at the API boundary)."""
    key_id = str(boto3.client("kms", region_name="us-west-2").create_key()["KeyMetadata"]["KeyId"])
    stubber = Stubber(aws.client("cloudformation", "us-west-2"))
    for part in ("Network", "Data", "Service", "Monitoring"):
        stack = f"ContractorLens-Production-{part}"
        if part == "Data":
            summary = {"LogicalResourceId": "DataKey", "PhysicalResourceId": key_id, "ResourceType": "AWS::KMS::Key"}
            summary |= {"LastUpdatedTimestamp": "2026-11-27T00:00:00Z", "ResourceStatus": "CREATE_COMPLETE"}
            stubber.add_response("list_stack_resources", {"StackResourceSummaries": [summary]}, {"StackName": stack})
        else:
            stubber.add_client_error("list_stack_resources", "ValidationError", f"Stack with id {stack} does not exist")
    stubber.activate()
    return key_id


def test_security_review_checks_the_stacks_keys_are_enabled(world: World, run) -> None:
    _groups(world.vpc_id, app_ssh_open=False)
    aws = Aws()
    _stacks_with_a_key(aws)
    result = run("security-review", "--json", *FAST, aws=aws)
    assert result.code == 0, result.out + result.err
    assert json.loads(result.out)["data"]["keys"] == 1


def test_a_key_scheduled_for_deletion_fails_the_review_with_the_way_back(world: World, run) -> None:
    _groups(world.vpc_id, app_ssh_open=False)
    aws = Aws()
    key_id = _stacks_with_a_key(aws)
    boto3.client("kms", region_name="us-west-2").schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    result = run("security-review", *FAST, aws=aws)
    assert result.code == 1
    assert f"{key_id} (us-west-2, ContractorLens-Production-Data) is PendingDeletion, deleted on " in result.out
    assert f"aws kms cancel-key-deletion --key-id {key_id} --region us-west-2" in result.out
