"""A new account's first deploy, and what preflight checks before any deploy: the release image in
the repository and the service-linked roles (against moto; `npx cdk` is recorded, not run)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from runbook import db_users, service
from runbook.account import BOOTSTRAP_VERSION_PARAMETER, SERVICE_LINKED_ROLES
from runbook.aws import Aws, RunbookError, WaitPolicy
from runbook.context import Context
from runbook.report import Report
from tests.runbook.conftest import DR, FAST, PRIMARY, HealthServer, World, deploy_service_stack, production_config

STACK = "ContractorLens-Production-{}"


def _context() -> Context:
    return Context(
        cfg=production_config(),
        aws=Aws(),
        report=Report("first-deploy", "production"),
        wait=WaitPolicy(1, 1),
        region=PRIMARY,
    )


def _stacks_exist(*parts: str) -> None:
    """What a deploy leaves in CloudFormation: a stack of each name (their resources are the world's)."""
    template = json.dumps({"Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}}})
    for part in parts:
        region = DR if part in ("DRFoundation", "DR") else PRIMARY
        if part == "Service":  # its task definition is what a deploy checks the service runs
            deploy_service_stack("1.0.0")
            continue
        boto3.client("cloudformation", region_name=region).create_stack(StackName=STACK.format(part), TemplateBody=template)


class Cdk:
    """Stands in for `npx cdk`, which has no account here: records each call, and leaves what the
    deploy of the Registry stack leaves: the stack and its repository."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str]) -> int:
        self.calls.append(list(argv))
        if argv[2] == "deploy" and STACK.format("Registry") in argv:
            try:
                boto3.client("ecr").create_repository(repositoryName="contractorlens")
                _stacks_exist("Registry")
            except ClientError:
                pass  # deployed before
        return 0

    def deployed(self) -> list[list[str]]:
        return [[a for a in call if a.startswith("ContractorLens-")] for call in self.calls if call[2] == "deploy"]


def _bootstrap(*regions: str) -> None:
    for region in regions:
        boto3.client("ssm", region_name=region).put_parameter(Name=BOOTSTRAP_VERSION_PARAMETER, Value="30", Type="String")


def test_preflight_refuses_a_release_that_is_not_in_the_repository(world: World, health_server: HealthServer, run) -> None:
    result = run("preflight", "--url", health_server.url, "--image-tag", "9.9.9", *FAST)
    assert result.code == 1
    (line,) = [ln for ln in result.out.splitlines() if "FAIL" in ln]
    assert "contractorlens:9.9.9 is not in the repository (us-west-2)" in line and "docker push" in line


def test_deploy_stops_at_preflight_when_the_release_is_not_pushed(world: World, health_server: HealthServer, run) -> None:
    result = run("production", "--image-tag", "9.9.9", "--url", health_server.url, *FAST)
    assert result.code == 1
    assert "release image: contractorlens:9.9.9 is not in the repository" in result.out
    assert "stopped at step 'preflight'" in result.out and "npx cdk deploy" not in result.out


def test_preflight_names_a_missing_service_linked_role_and_how_to_create_it(world: World, health_server: HealthServer, run) -> None:
    iam = boto3.client("iam")
    (role,) = iam.list_roles(PathPrefix="/aws-service-role/ecs.application-autoscaling.amazonaws.com/")["Roles"]
    iam.delete_service_linked_role(RoleName=role["RoleName"])
    result = run("preflight", "--url", health_server.url, *FAST)
    assert result.code == 1
    assert (
        "Application Auto Scaling for ECS (aws iam create-service-linked-role --aws-service-name ecs.application-autoscaling.amazonaws.com)"
        in result.out
    )


def test_first_deploy_refuses_an_account_that_is_not_bootstrapped(aws: None, run) -> None:
    _bootstrap(PRIMARY)
    result = run("first-deploy", *FAST)
    assert result.code == 2 and result.err.count("\n") == 1
    assert "not bootstrapped for the CDK: us-east-1; run: npx cdk bootstrap aws://123456789012/us-east-1" in result.err


def test_first_deploy_stops_for_the_first_image_after_the_stacks_that_need_none(aws: None, capsys) -> None:
    _bootstrap(PRIMARY, DR)
    cdk = Cdk()
    assert not service.first_deploy(_context(), url=None, run=cdk)
    assert cdk.deployed() == [[STACK.format(p) for p in ("DRFoundation", "Network", "Registry", "Data")]]
    out = capsys.readouterr().out
    assert "contractorlens:1.0.0 is not in the repository" in out
    assert "docker push 123456789012.dkr.ecr.us-west-2.amazonaws.com/contractorlens:1.0.0" in out
    assert "then run first-deploy again" in out
    # It made the roles a new account lacks.
    iam = boto3.client("iam")
    for principal in SERVICE_LINKED_ROLES:
        assert iam.list_roles(PathPrefix=f"/aws-service-role/{principal}/")["Roles"], principal


def test_first_deploy_deploys_in_an_order_that_works_once_the_image_is_pushed(
    world: World, health_server: HealthServer, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DRFoundation, Network, Registry, Data; the image; the backend's database role (its first
    tasks log in as it); Service, Monitoring; the DR stack last, as it reads the health check id
    the Service stack writes. (db-users itself: tests/runbook/test_db_users.py, and the sandbox.)"""
    _bootstrap(PRIMARY, DR)
    _stacks_exist("Network", "Registry", "Data", "Service", "Monitoring")
    cdk = Cdk()
    monkeypatch.setattr(db_users, "db_users", lambda ctx: cdk.calls.append(["db-users", "", "db-users"]) is None)
    assert service.first_deploy(_context(), url=health_server.url, run=cdk)
    assert cdk.calls[0][:3] == ["npx", "cdk", "synth"]
    assert [call[0] if call[0] == "db-users" else call[2] for call in cdk.calls] == ["synth", "deploy", "db-users", "deploy", "deploy"]
    assert cdk.deployed() == [
        [STACK.format(p) for p in ("DRFoundation", "Network", "Registry", "Data")],
        [STACK.format(p) for p in ("Service", "Monitoring")],
        [STACK.format("DR")],
    ]
    assembly = cdk.calls[0][cdk.calls[0].index("--output") + 1]
    assert all(call[call.index("--app") + 1] == assembly for call in cdk.calls[1:] if call[0] == "npx")


def test_first_deploy_stops_before_the_service_when_db_users_fails(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    _bootstrap(PRIMARY, DR)
    _stacks_exist("Network", "Registry", "Data", "Service", "Monitoring")
    cdk = Cdk()
    monkeypatch.setattr(db_users, "db_users", lambda ctx: False)
    with pytest.raises(RunbookError, match=r"db-users failed .*: fix it, run first-deploy again"):
        service.first_deploy(_context(), url=None, run=cdk)
    assert STACK.format("Service") not in str(cdk.deployed())


def test_first_deploy_is_one_line_when_cdk_fails(world: World, capsys) -> None:
    _bootstrap(PRIMARY, DR)
    _stacks_exist("Network", "Registry", "Data", "Service", "Monitoring")
    with pytest.raises(RunbookError, match=r"npx cdk deploy of ContractorLens-Production-DRFoundation, .* exited 1"):
        service.first_deploy(_context(), url=None, run=lambda argv: 1 if argv[2] == "deploy" else 0)


def test_a_stack_whose_first_create_rolled_back_can_be_created_again(aws: None, capsys) -> None:
    """The cdk CLI protects a new stack before its change set runs; after a rollback its own
    delete-and-retry is refused until that protection is off (the sandbox showed it)."""
    ctx = _context()
    cfn = ctx.client("cloudformation")
    stubber = Stubber(cfn)
    stubber.add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackName": STACK.format("Service"),
                    "StackStatus": "ROLLBACK_COMPLETE",
                    "EnableTerminationProtection": True,
                    "CreationTime": "2026-11-27T00:00:00Z",
                }
            ]
        },
        {"StackName": STACK.format("Service")},
    )
    stubber.add_response(
        "update_termination_protection", {"StackId": "x"}, {"StackName": STACK.format("Service"), "EnableTerminationProtection": False}
    )
    with stubber:
        service.clear_failed_creates(ctx, ["Service"])
        stubber.assert_no_pending_responses()
    assert "termination protection off so that cdk can re-create it" in capsys.readouterr().out


def test_a_stack_whose_rollback_failed_is_one_line(aws: None) -> None:
    ctx = _context()
    stubber = Stubber(ctx.client("cloudformation"))
    stubber.add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackName": STACK.format("Data"),
                    "StackStatus": "ROLLBACK_FAILED",
                    "CreationTime": "2026-11-27T00:00:00Z",
                }
            ]
        },
    )
    with stubber, pytest.raises(RunbookError, match="ROLLBACK_FAILED: its failed create could not delete everything"):
        service.clear_failed_creates(ctx, ["Data"])


def test_first_deploy_refuses_what_an_earlier_destroy_left_in_the_way(world: World) -> None:
    """The world's log groups and repository, with no stacks: what `cdk destroy` keeps."""
    _bootstrap(PRIMARY, DR)
    with pytest.raises(
        RunbookError,
        match=r"3 resource\(s\) kept by an earlier cdk destroy .*\(contractorlens, ecr-pullthroughcache/contractorlens-docker-hub, "
        r"/ecs/contractorlens\).*leftovers --env production",
    ):
        service.first_deploy(_context(), url=None, run=Cdk())


def test_leftovers_lists_them_and_deletes_them_but_never_in_production(world: World, run, monkeypatch: pytest.MonkeyPatch) -> None:
    listed = run("leftovers", *FAST)
    assert listed.code == 1 and "repository contractorlens (us-west-2), kept by ContractorLens-Production-Registry" in listed.out
    refused = run("leftovers", "--delete", *FAST)
    assert refused.code == 2 and "production's logs, images, secrets and backup vaults are not deleted" in refused.err
    assert boto3.client("ecr").describe_repositories()["repositories"]


def test_leftovers_include_what_a_destroyed_dr_stack_kept_in_the_dr_region(world: World, run) -> None:
    """Production's DR stack keeps its log groups (both DR databases' among them) in us-east-1."""
    dr_logs = boto3.client("logs", region_name=DR)
    for group in ("/ecs/contractorlens", "/aws/rds/instance/contractorlens-db-replica/postgresql"):
        dr_logs.create_log_group(logGroupName=group)
    listed = run("leftovers", *FAST)
    assert listed.code == 1
    assert (
        "log group /aws/rds/instance/contractorlens-db-replica/postgresql (us-east-1), kept by ContractorLens-Production-DR" in listed.out
    )
    assert "log group /ecs/contractorlens (us-east-1), kept by ContractorLens-Production-DR" in listed.out


def test_leftovers_of_a_destroyed_staging_are_deleted(aws: None, run) -> None:
    boto3.client("logs").create_log_group(logGroupName="/ecs/contractorlens-staging")
    boto3.client("ecr").create_repository(repositoryName="contractorlens-staging")
    boto3.client("secretsmanager").create_secret(Name="contractorlens-staging/gemini-api-key", SecretString="x")
    result = run("leftovers", "--env", "staging", "--delete", *FAST)
    assert result.code == 0, result.out + result.err
    assert "deleted 3: contractorlens-staging, /ecs/contractorlens-staging, contractorlens-staging/gemini-api-key" in result.out
    assert not boto3.client("logs").describe_log_groups(logGroupNamePrefix="/ecs/contractorlens-staging")["logGroups"]
    assert not boto3.client("ecr").describe_repositories()["repositories"]
    assert run("leftovers", "--env", "staging", *FAST).code == 0


def _stub_staging_vault(aws: Aws, *, locked: bool, points: int) -> Stubber:
    """A vault the destroyed staging Data stack kept, as AWS Backup answers (moto has no
    recovery points, nor DeleteBackupVaultAccessPolicy)."""
    name = "contractorlens-staging-backups"
    stubber = Stubber(aws.client("backup", PRIMARY))
    vault = {"BackupVaultName": name, "BackupVaultArn": f"arn:aws:backup:us-west-2:123456789012:backup-vault:{name}", "Locked": locked}
    arns = [f"arn:aws:backup:us-west-2:123456789012:recovery-point:point-{i}" for i in range(points)]
    stubber.add_response("describe_backup_vault", vault, {"BackupVaultName": name})
    stubber.add_response(
        "list_recovery_points_by_backup_vault", {"RecoveryPoints": [{"RecoveryPointArn": a} for a in arns]}, {"BackupVaultName": name}
    )
    if points:
        stubber.add_response("describe_backup_vault", vault, {"BackupVaultName": name})
    if not (points and locked):
        stubber.add_response("delete_backup_vault_access_policy", {}, {"BackupVaultName": name})
        for arn in arns:
            stubber.add_response("delete_recovery_point", {}, {"BackupVaultName": name, "RecoveryPointArn": arn})
        stubber.add_response("delete_backup_vault", {}, {"BackupVaultName": name})
    stubber.activate()
    return stubber


def test_a_kept_unlocked_vault_is_emptied_and_deleted(aws: None, run) -> None:
    client = Aws()
    stubber = _stub_staging_vault(client, locked=False, points=2)
    result = run("leftovers", "--env", "staging", "--delete", *FAST, aws=client)
    assert result.code == 0, result.out + result.err
    assert "backup vault contractorlens-staging-backups (us-west-2), kept by ContractorLens-Staging-Data" in result.out
    assert "deleted 1: contractorlens-staging-backups" in result.out
    stubber.assert_no_pending_responses()


def test_a_kept_locked_vault_with_recovery_points_is_refused_in_one_line(aws: None, run) -> None:
    client = Aws()
    stubber = _stub_staging_vault(client, locked=True, points=1)
    result = run("leftovers", "--env", "staging", "--delete", *FAST, aws=client)
    assert result.code == 2
    assert "holds 1 recovery point(s) under Vault Lock: AWS deletes none before it expires" in result.err
    assert "Traceback" not in result.err
    stubber.assert_no_pending_responses()


def _docker_hub_placeholder() -> None:
    """The Registry stack's secret as it creates it: the placeholder user, no operator yet."""
    boto3.client("secretsmanager", region_name=PRIMARY).put_secret_value(
        SecretId="ecr-pullthroughcache/contractorlens-docker-hub", SecretString=json.dumps({"username": "set-me", "accessToken": "x"})
    )


def test_preflight_fails_until_the_docker_hub_credentials_are_set(world: World, health_server: HealthServer, run) -> None:
    _docker_hub_placeholder()
    result = run("preflight", "--url", health_server.url, *FAST)
    assert result.code == 1
    (line,) = [ln for ln in result.out.splitlines() if "FAIL" in ln]
    assert "ecr-pullthroughcache/contractorlens-docker-hub has no Docker Hub user yet" in line
    assert "aws secretsmanager put-secret-value --region us-west-2 --secret-id ecr-pullthroughcache/contractorlens-docker-hub" in line


def test_first_deploy_stops_for_the_docker_hub_credentials_before_the_service(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """Grafana's first task would pull with the placeholder, fail, and roll the Monitoring stack's create back."""
    _bootstrap(PRIMARY, DR)
    _stacks_exist("Network", "Registry", "Data", "Service", "Monitoring")
    _docker_hub_placeholder()
    cdk = Cdk()
    monkeypatch.setattr(db_users, "db_users", lambda ctx: pytest.fail("db-users ran before the credentials were set"))
    assert not service.first_deploy(_context(), url=None, run=cdk)
    assert cdk.deployed() == [[STACK.format(p) for p in ("DRFoundation", "Network", "Registry", "Data")]]
    assert "Then run first-deploy again: Grafana's image is pulled from Docker Hub with them." in capsys.readouterr().out


def test_a_kept_secret_with_a_replica_is_deleted_with_its_replica(aws: None) -> None:
    """Secrets Manager refuses to delete a secret that still has replicas (the master secret and
    the Gemini key of an environment with a DR region)."""
    from runbook.account import Kept, delete_leftover

    primary = boto3.client("secretsmanager", region_name=PRIMARY)
    primary.create_secret(Name="contractorlens/db-master", SecretString="{}", AddReplicaRegions=[{"Region": DR}])
    delete_leftover(_context(), Kept("Data", "secret", "contractorlens/db-master", PRIMARY))
    for region in (PRIMARY, DR):
        assert not boto3.client("secretsmanager", region_name=region).list_secrets()["SecretList"], region
