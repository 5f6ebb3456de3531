"""The lifecycle a team lives through, as scenarios of `npx cdk` and `scripts/deploy.sh` commands
typed as the README prints them, each checked against the account it leaves."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from botocore.exceptions import ClientError

from config import load_environment
from config.names import GAME_DAY_EXPERIMENTS
from config.schema import GRAFANA_PLACEHOLDER_CIDR
from sandbox.emulator import BAD_RELEASE_TAG
from sandbox.session import Session

# A release with a flaw no check sees (a wrong business rule, say): it gets through, and the
# on-call engineer rolls it back by hand.
FLAWED_RELEASE_TAG = "sandbox-flawed-release"


@dataclass(frozen=True)
class Scenario:
    name: str
    what: str
    run: Callable[[Session], None]
    needs: tuple[str, ...] = ()
    """Scenarios, any one of which must have run in the same account first (each leaves the
    environment deployed); the first that is rehearsed anyway is used."""
    environment: str | None = None
    """An environment of its own (teardown destroys staging); None: the one asked for."""


def _health(s: Session, region: str | None = None) -> list[str]:
    url = s.running.health_url if not region or region == s.cfg.region else s.running.health_url.replace("/health", f"/{region}/health")
    return ["--url", url]


def _dr_health(s: Session) -> list[str]:
    """The DR copy's /health as the emulator's stand-in answers it (dr-activate checks it)."""
    return _health(s, s.cfg.dr_region)


def _env(s: Session) -> list[str]:
    return ["--env", s.cfg.name]


def _stacks(s: Session) -> list[str]:
    parts = [*(["DRFoundation"] if s.cfg.needs_dr_foundation else []), "Network", "Registry", "Data", "Service", "Monitoring"]
    return parts + (["DR"] if s.cfg.dr.enabled else [])


def _all_stacks_complete(s: Session) -> tuple[bool, str]:
    statuses = {part: s.stack_status(part) for part in _stacks(s)}
    bad = {part: status for part, status in statuses.items() if status not in ("CREATE_COMPLETE", "UPDATE_COMPLETE")}
    return not bad, f"{len(statuses)} stacks complete" if not bad else f"not complete: {bad}"


def _bootstrap(s: Session) -> None:
    regions = [s.cfg.region] + ([s.cfg.dr_region] if s.cfg.needs_dr_foundation else [])
    s.cdk("bootstrap", *(f"aws://{s.cfg.account}/{region}" for region in regions))


def _service_image(s: Session, region: str | None = None) -> str:
    ecs = s.client("ecs", region)
    (service,) = ecs.describe_services(cluster=s.cfg.names.cluster, services=[s.cfg.names.service])["services"]
    definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    return str(definition["containerDefinitions"][0]["image"]).rpartition(":")[2]


def _team_vpn_range(s: Session) -> None:
    """Production's file as shipped opens Grafana to a placeholder range: first-deploy refuses it
    before anything changes; the engineer puts the team's range in (README: first deploy)."""
    if not s.cfg.grafana_placeholder:
        return
    s.deploy_sh("first-deploy", *_env(s), *_health(s), expect=2, look_for="holds the placeholder")
    s.check(
        f"config/{s.cfg.name}.toml: the team's VPN range for Grafana",
        lambda: (
            bool(_edit_config(s, f'"{GRAFANA_PLACEHOLDER_CIDR}"', '"10.50.0.0/16"')),
            "observability.grafana_allowed_cidrs: 10.50.0.0/16",
        ),
        stand_in=True,
    )


def _docker_hub_credentials(s: Session) -> None:
    """What the README has an operator do once the Registry stack exists: a Docker Hub user and
    access token in its secret, for Grafana's image."""
    name = s.cfg.names.docker_hub_secret
    value = '{"username": "contractorlens-ci", "accessToken": "dckr_pat_sandbox"}'
    s.check(
        f"Docker Hub credentials put in {name} (aws secretsmanager put-secret-value)",
        lambda: (bool(s.client("secretsmanager").put_secret_value(SecretId=name, SecretString=value)), "contractorlens-ci"),
        stand_in=True,
    )


def new_account(s: Session) -> None:
    """The README's first deploy on an empty account: the placeholder Grafana range refused and
    replaced, bootstrap, first-deploy stops for the first image, the image is pushed, first-deploy
    again; every stack up; health-check green."""
    _team_vpn_range(s)
    _bootstrap(s)
    s.deploy_sh("first-deploy", *_env(s), *_health(s), expect=1, look_for="then run first-deploy again")
    s.push(s.cfg.service.image_tag)
    if s.cfg.needs_docker_hub_cache:
        s.deploy_sh("first-deploy", *_env(s), *_health(s), expect=1, look_for="has no Docker Hub user yet")
        _docker_hub_credentials(s)
    s.deploy_sh("first-deploy", *_env(s), *_health(s))
    s.check("every stack created", lambda: _all_stacks_complete(s))
    s.check("deletion protection on, switched on last", lambda: _protected(s))
    s.deploy_sh("health-check", *_env(s), *_health(s))


def _protected(s: Session) -> tuple[bool, str]:
    (db,) = s.client("rds").describe_db_instances(DBInstanceIdentifier=s.cfg.names.db_instance)["DBInstances"]
    elbv2 = s.client("elbv2")
    unprotected = []
    for balancer in elbv2.describe_load_balancers()["LoadBalancers"]:
        attributes = elbv2.describe_load_balancer_attributes(LoadBalancerArn=balancer["LoadBalancerArn"])["Attributes"]
        if {"Key": "deletion_protection.enabled", "Value": "true"} not in attributes:
            unprotected.append(balancer["LoadBalancerName"])
    want = s.cfg.database.deletion_protection
    ok = db["DeletionProtection"] is want and (not unprotected or not s.cfg.service.load_balancer_deletion_protection)
    return ok, f"{s.cfg.names.db_instance}: {db['DeletionProtection']}; load balancers without it: {unprotected or 'none'}"


def failed_first_deploy(s: Session) -> None:
    """First creates that fail on a new account, roll back with nothing left behind, and are
    retried with the same command once the cause is fixed: the Data stack (a name it needs is
    taken, after the database exists) and the Service stack (deployed before its image is pushed)."""
    names = s.cfg.names
    stray = f"{names.parameter_prefix}/db/endpoint"
    first_deploy = ["first-deploy", *_env(s), *_health(s)]
    _team_vpn_range(s)
    _bootstrap(s)
    s.check(
        f"a parameter {stray} left by hand",
        lambda: (bool(s.client("ssm").put_parameter(Name=stray, Value="old", Type="String")), "created outside the stacks"),
        stand_in=True,
    )
    s.deploy_sh(
        *first_deploy,
        expect=2,
        look_for=f"npx cdk deploy of {names.stack('DRFoundation') if s.cfg.needs_dr_foundation else names.stack('Network')}",
    )
    s.check("the Data stack rolled back with nothing left", lambda: _nothing_left(s, "Data"))
    s.check(
        f"the stray {stray} removed (the cause fixed)",
        lambda: (bool(s.client("ssm").delete_parameter(Name=stray)), "deleted"),
        stand_in=True,
    )
    s.deploy_sh(*first_deploy, expect=1, look_for="then run first-deploy again")
    s.check("the database is protected, as the Data stack's last step", lambda: _protected(s))
    s.cdk("deploy", names.stack("Service"), "-c", f"env={s.cfg.name}", fails=True, look_for="Circuit Breaker")
    s.check("the Service stack rolled back with nothing left", lambda: _nothing_left(s, "Service"))
    s.push(s.cfg.service.image_tag)
    if s.cfg.needs_docker_hub_cache:
        _docker_hub_credentials(s)
    # The cdk CLI protected the new production stack before its change set ran; first-deploy
    # lifts that from the rolled-back stack so that the CLI can create it again.
    protected = "termination protection off so that cdk can re-create it" if s.cfg.termination_protection else ""
    if s.cfg.dr.enabled:
        _dr_stack_fails_its_first_create(s, first_deploy)
    s.deploy_sh(*first_deploy, look_for=protected)
    s.check("every stack created", lambda: _all_stacks_complete(s))


def _dr_stack_fails_its_first_create(s: Session, first_deploy: list[str]) -> None:
    """The DR stack's first create fails (an alarm name taken in the DR region) and rolls back:
    the replica's fixed-name log groups, made first, are deleted, and nothing is in the way of the
    retry. (In the emulator's order the alarm fails before the replica is made; in AWS, which
    creates in parallel, the replica would be deleted too: no deletion protection until the end.)"""
    alarm = s.cfg.names.alarm("replica-lag")
    cloudwatch = s.client("cloudwatch", s.cfg.dr_region)
    stray = {"MetricName": "ReplicaLag", "Namespace": "AWS/RDS", "Statistic": "Maximum", "Period": 60, "EvaluationPeriods": 1}
    s.check(
        f"an alarm {alarm} left by hand in {s.cfg.dr_region}",
        lambda: (
            cloudwatch.put_metric_alarm(AlarmName=alarm, Threshold=1, ComparisonOperator="GreaterThanThreshold", **stray) is not None,
            "created outside the stacks",
        ),
        stand_in=True,
    )
    s.deploy_sh(*first_deploy, expect=2, look_for=f"npx cdk deploy of {s.cfg.names.stack('DR')}")
    s.check("the DR stack rolled back with nothing left", lambda: _nothing_left(s, "DR"))
    s.check(
        f"the stray {alarm} removed (the cause fixed)",
        lambda: (cloudwatch.delete_alarms(AlarmNames=[alarm]) is not None, "deleted"),
        stand_in=True,
    )


def _nothing_left(s: Session, part: str) -> tuple[bool, str]:
    """The stack's first create rolled back, and none of its named resources is left."""
    from runbook.account import kept_on_destroy

    status = s.stack_status(part)
    names = s.cfg.names
    left = []
    database, region = (names.db_instance, s.cfg.region) if part == "Data" else (s.cfg.dr_db_instance, s.cfg.dr_region)
    if (
        part in ("Data", "DR")
        and s.client("rds", region).describe_db_instances(Filters=[{"Name": "db-instance-id", "Values": [database]}])["DBInstances"]
    ):
        left.append(database)
    # The fixed-name resources were made before the failure (else this would prove nothing about them):
    # the replica's log groups, and the database's generated master secret where there is one.
    made_first = {"DR": "ReplicaPostgresqlLogGroup", "Data": "DatabaseMasterSecret" if s.cfg.dr.enabled else ""}.get(part)
    if made_first:
        events = s.client("cloudformation", region).describe_stack_events(StackName=names.stack(part))["StackEvents"]
        if not any(e["LogicalResourceId"] == made_first and e["ResourceStatus"] == "DELETE_COMPLETE" for e in events):
            left.append(f"({made_first} was never created, so this proves nothing)")
    for kept in kept_on_destroy(s.cfg):
        if kept.part != part:
            continue
        groups = (
            s.client("logs", kept.region).describe_log_groups(logGroupNamePrefix=kept.name)["logGroups"] if kept.kind == "log group" else []
        )
        # By name: a prefix also finds another stack's group (/ecs/contractorlens/db-users is the Data stack's).
        if any(g["logGroupName"] == kept.name for g in groups):
            left.append(kept.name)
        if kept.kind == "secret" and any(x["Name"] == kept.name for x in s.client("secretsmanager").list_secrets()["SecretList"]):
            left.append(kept.name)
    return status == "ROLLBACK_COMPLETE" and not left, f"{names.stack(part)} {status}; left behind: {left or 'nothing'}"


def bad_release(s: Session) -> None:
    """`deploy.sh production --image-tag` with a tag that was never pushed (preflight refuses), with a
    release that fails /health (the circuit breaker rolls it back, the deploy fails, the service
    stays on the good revision), and a flawed release that gets through and is rolled back."""
    good = s.cfg.service.image_tag
    deploy = [s.cfg.name, *_health(s)]
    s.deploy_sh(*deploy, "--image-tag", "9.9.9", expect=1, look_for="is not in the repository")
    s.push(BAD_RELEASE_TAG)
    s.deploy_sh(*deploy, "--image-tag", BAD_RELEASE_TAG, expect=1, look_for="stopped at step 'cdk deploy'")
    s.check(
        "the Service stack rolled back to the good release",
        lambda: (
            s.stack_status("Service") == "UPDATE_ROLLBACK_COMPLETE" and _service_image(s) == good,
            f"{s.stack_status('Service')}; running {_service_image(s)}",
        ),
    )
    s.deploy_sh("health-check", *_env(s), *_health(s))
    s.push(FLAWED_RELEASE_TAG)
    s.deploy_sh(*deploy, "--image-tag", FLAWED_RELEASE_TAG)
    s.deploy_sh("rollback", *_env(s), *_health(s))
    s.check(f"the service runs {good} again", lambda: (_service_image(s) == good, f"running {_service_image(s)}"))
    # The rollback changed the service outside the stack, which still names the flawed release:
    # the diff says so (README: "After a rollback").
    s.cdk("diff", s.cfg.names.stack("Service"), "-c", f"env={s.cfg.name}", look_for=f"/contractorlens:{FLAWED_RELEASE_TAG}")
    # Deploying the rolled-back tag again is no change to CloudFormation: the deploy sees the
    # service off the stack's revision and puts it back, and checks that it runs.
    s.deploy_sh(*deploy, "--image-tag", FLAWED_RELEASE_TAG, look_for="changed outside the stack, by a rollback")
    s.check(
        f"the service runs {FLAWED_RELEASE_TAG} again", lambda: (_service_image(s) == FLAWED_RELEASE_TAG, f"running {_service_image(s)}")
    )
    # The file's tag is older than the running release: refused before anything changes, then on purpose.
    s.deploy_sh(*deploy, expect=2, look_for=f"would put the older contractorlens:{good}")
    s.deploy_sh(*deploy, "--allow-older", look_for=f"now: {s.cfg.names.service} runs contractorlens:{good} (sha256:")


def on_call(s: Session) -> None:
    """The rest of the manual's runbook on the running environment."""
    floor = s.cfg.service.min_tasks
    # What is deployed is what the code says: no stack differs (the CLI asks with change sets).
    s.cdk("diff", "-c", f"env={s.cfg.name}", look_for="Number of stacks with differences: 0")
    s.deploy_sh("preflight", *_env(s), *_health(s))
    s.deploy_sh("restart", *_env(s), *_health(s))
    s.deploy_sh("scale", *_env(s), "--count", str(floor + 1))
    s.deploy_sh("scale", *_env(s), "--count", str(floor))
    s.deploy_sh("logs", *_env(s), "--since", "1h", "--filter", "FAILED_LOGIN")
    s.deploy_sh("certs", *_env(s))
    # The vaults exist and are locked; no backup job runs in the emulator (the report says so).
    s.deploy_sh("backups", *_env(s), look_for=f"vault {s.cfg.names.backup_vault} ({s.cfg.region}) lock: locked")
    s.deploy_sh("security-review", *_env(s))
    _missing_permission(s)
    s.deploy_sh("db-users", *_env(s), look_for="logs in with IAM only")
    s.deploy_sh("leftovers", *_env(s))
    if s.cfg.dr.enabled and s.cfg.database.replicate_backups_to_dr:
        s.deploy_sh("dr-restore", *_env(s), "--latest")
        # README: delete a hand-made restore before switching the DR stack to active.
        s.check("the hand-made restore deleted (aws rds delete-db-instance)", lambda: _delete_restore(s), stand_in=True)


# The registry login of a task that pulls through the cache (cdk_constructs/registry.py): the line
# a change could lose, as it once was, without which the db-users task never pulls its image.
REGISTRY_LOGIN = 'task_definition.add_to_execution_role_policy(iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"]))'
DROPPED = "pass  # the registry login, dropped by a change"


def _missing_permission(s: Session) -> None:
    """A change that drops a permission AWS needs deploys (the template is valid), then stops where
    AWS would: ECS cannot log in to the registry for the db-users task and says why. The line put
    back, the same deploy and db-users pass."""
    data = s.cfg.names.stack("Data")
    s.check(
        "cdk_constructs/registry.py: a change drops the execution role's registry login",
        lambda: (_edit_code(s, "cdk_constructs/registry.py", REGISTRY_LOGIN, DROPPED), "ecr:GetAuthorizationToken removed"),
        stand_in=True,
    )
    # The diff shows the change, not hidden by the change set (whose Details name every changed property).
    s.cdk("diff", data, "-c", f"env={s.cfg.name}", look_for="[~] PolicyDocument")
    s.cdk("deploy", data, "-c", f"env={s.cfg.name}", "--require-approval", "never")
    s.deploy_sh("db-users", *_env(s), expect=1, look_for="not authorized to perform: ecr:GetAuthorizationToken")
    s.check(
        "cdk_constructs/registry.py: the registry login put back",
        lambda: (_edit_code(s, "cdk_constructs/registry.py", DROPPED, REGISTRY_LOGIN), "ecr:GetAuthorizationToken restored"),
        stand_in=True,
    )
    s.cdk("deploy", data, "-c", f"env={s.cfg.name}", "--require-approval", "never")


def _edit_code(s: Session, name: str, old: str, new: str) -> bool:
    """An engineer's edit of the sandbox's own copy of a source file: the first `old` becomes `new`."""
    path = s.checkout / name
    text = path.read_text()
    if old not in text:
        return False
    path.write_text(text.replace(old, new, 1))
    return True


def _metric_history(s: Session) -> tuple[bool, str]:
    """What CloudWatch holds after a week of traffic (the emulator has no metrics of its own):
    this week's and last week's requests, errors and latency, the service's and the database's
    utilization and storage, and the running task count, all inside the manual's thresholds."""
    names = s.cfg.names
    (service,) = s.client("ecs").describe_services(cluster=names.cluster, services=[names.service])["services"]
    (group,) = s.client("elbv2").describe_target_groups(TargetGroupArns=[service["loadBalancers"][0]["targetGroupArn"]])["TargetGroups"]
    alb = {"Name": "LoadBalancer", "Value": group["LoadBalancerArns"][0].split(":loadbalancer/", 1)[1]}
    ecs = [{"Name": "ClusterName", "Value": names.cluster}, {"Name": "ServiceName", "Value": names.service}]
    db = [{"Name": "DBInstanceIdentifier", "Value": names.db_instance}]
    now, cw = datetime.now(UTC), s.client("cloudwatch")
    for hours in (2, 30, 200):  # today, this week, last week
        at = now - timedelta(hours=hours)
        series = [
            ("AWS/ApplicationELB", "RequestCount", [alb], 10000.0),
            ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", [alb], 12.0),
            ("AWS/ApplicationELB", "TargetResponseTime", [alb], 0.4),
            ("AWS/ECS", "CPUUtilization", ecs, 35.0),
            ("AWS/ECS", "MemoryUtilization", ecs, 48.0),
            ("ECS/ContainerInsights", "RunningTaskCount", ecs, 3.0),
            ("AWS/RDS", "CPUUtilization", db, 22.0),
            ("AWS/RDS", "FreeStorageSpace", db, 80.0 * 2**30),
        ]
        for namespace, metric, dims, value in series:
            cw.put_metric_data(
                Namespace=namespace, MetricData=[{"MetricName": metric, "Dimensions": dims, "Value": value, "Timestamp": at}]
            )
    return True, "a week of ALB, ECS, Container Insights and RDS metrics, inside the thresholds"


def _cost_figures(s: Session) -> tuple[bool, str]:
    """What Cost Explorer would answer, set through moto's API: the emulator has no bill."""
    import json
    import urllib.request

    def month(start: str, end: str, amount: str) -> dict:
        group = {"Keys": [f"Environment${s.cfg.name}"], "Metrics": {"UnblendedCost": {"Amount": amount, "Unit": "USD"}}}
        return {"TimePeriod": {"Start": start, "End": end}, "Total": {}, "Groups": [group], "Estimated": False}

    response = {"ResultsByTime": [month("2026-10-01", "2026-11-01", "1812.40"), month("2026-11-01", "2026-12-01", "1730.05")]}
    body = json.dumps({"results": [response], "region": "us-east-1"}).encode()
    request = urllib.request.Request(f"{s.running.endpoint}/moto-api/static/ce/cost-and-usage-results", data=body, method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.status == 201 or answer.status == 200, "Cost Explorer answers two months of stand-in figures"


def _scheduled_daily(s: Session) -> tuple[bool, str]:
    """EventBridge Scheduler's morning call, made by the sandbox: the function's code with the
    deployed function's settings, run here against the emulator (no function runs in it). The
    health URL is the sandbox's stand-in, as api.<domain> resolves nowhere here."""
    from runbook.scheduled import daily

    names = s.cfg.names
    schedule = s.client("scheduler").get_schedule(Name=names.daily_checklist)
    function = s.client("lambda").get_function_configuration(FunctionName=names.daily_checklist)
    if schedule["Target"]["Arn"] != function["FunctionArn"]:
        return False, f"the schedule calls {schedule['Target']['Arn']}, not {function['FunctionArn']}"
    settings = json.loads(function["Environment"]["Variables"]["CHECKLIST"])
    settings["health_url"] = s.running.health_url
    result = daily.run(settings, {name: s.client(name) for name in ("cloudwatch", "ecs", "rds", "sns")})
    return bool(result["ok"]), f"{schedule['ScheduleExpression']} {schedule['ScheduleExpressionTimezone']}: {result}"


def _support_line(output: str) -> tuple[bool, str]:
    """The engine-support line of `checklist monthly`: the end date as the emulator's RDS answers it."""
    lines = [line.strip() for line in output.splitlines() if "RDS standard support ends" in line]
    return bool(lines) and "ends 2028-02-29" in lines[0], lines[0] if lines else "no engine-support line in the output"


def _confirm_emails(s: Session) -> tuple[bool, str]:
    """What the people on the alert lists do once: open SNS's confirmation message and follow its
    link (the emulator takes the address as the message's token)."""
    sns, confirmed = s.client("sns"), []
    for topic in sns.list_topics()["Topics"]:
        for subscription in sns.list_subscriptions_by_topic(TopicArn=topic["TopicArn"])["Subscriptions"]:
            if subscription["Protocol"] == "email" and subscription["SubscriptionArn"] == "PendingConfirmation":
                sns.confirm_subscription(TopicArn=topic["TopicArn"], Token=subscription["Endpoint"])
                confirmed.append(subscription["Endpoint"])
    return bool(confirmed), f"confirmed: {', '.join(sorted(confirmed))}"


def maintenance(s: Session) -> None:
    """The manual's Maintenance Tasks: the four checklists on the running environment. CloudWatch's
    history and Cost Explorer's figures are stand-ins; ECR's scan on push reports moto's HIGH
    finding, so the weekly list fails on it, as it must."""
    s.check("a week of CloudWatch metrics (as AWS would hold them)", lambda: _metric_history(s), stand_in=True)
    s.deploy_sh("checklist", "daily", *_env(s), *_health(s), look_for="todo  Check system health dashboard")
    if s.cfg.alerting.daily_checklist:
        s.check("the scheduled daily checklist, as the schedule would call it", lambda: _scheduled_daily(s), stand_in=True)
    s.deploy_sh("checklist", "weekly", *_env(s), *_health(s), expect=1, look_for="FAIL  image scan")
    # The alerting test reaches nobody until the e-mail subscriptions are confirmed, and says so.
    emails = s.cfg.alerting.warning_emails
    if emails:
        s.deploy_sh("checklist", "weekly", *_env(s), *_health(s), expect=1, look_for=f"{emails[0]} (email) is pending confirmation")
        s.check("the team confirms its e-mail subscriptions (the link in AWS's message)", lambda: _confirm_emails(s), stand_in=True)
    s.deploy_sh("checklist", "weekly", *_env(s), *_health(s), expect=1, look_for="ok    alerting test")
    s.check("Cost Explorer's figures (moto's API)", lambda: _cost_figures(s), stand_in=True)
    monthly = s.deploy_sh("checklist", "monthly", *_env(s), *_health(s), look_for="1730.05 USD")
    s.check("monthly says how long RDS's standard support of PostgreSQL 15 has left", lambda: _support_line(monthly))
    if s.cfg.dr.enabled:  # README: Database credentials
        before = _current_master_password(s, s.cfg.region)
        s.deploy_sh("db-password", *_env(s), look_for=f"ok    replicas: {s.cfg.dr_region} InSync")
        s.check("a new master password, current in both regions", lambda: _new_master_password(s, before))
    if s.cfg.game_days.enabled:
        game_days(s)
    # After dr-switch (in a whole run) the drill is recorded; alone, there is none to find.
    drilled = bool(
        s.client("ssm").describe_parameters(
            ParameterFilters=[{"Key": "Name", "Values": [f"{s.cfg.names.parameter_prefix}/runbook/last-drill"]}]
        )["Parameters"]
    )
    s.deploy_sh(
        "checklist",
        "quarterly",
        *_env(s),
        *_health(s),
        expect=0 if drilled else 1,
        look_for="ok    DR drill" if drilled else "none recorded",
    )


def _current_master_password(s: Session, region: str) -> str:
    """The version id of the master secret's AWSCURRENT (the replica's in the DR region)."""
    stages = s.client("secretsmanager", region).describe_secret(SecretId=s.cfg.names.db_master_secret)["VersionIdsToStages"]
    return next(version for version, names in stages.items() if "AWSCURRENT" in names)


def _new_master_password(s: Session, before: str) -> tuple[bool, str]:
    now, replica = _current_master_password(s, s.cfg.region), _current_master_password(s, s.cfg.dr_region)
    return now != before and replica == now, f"AWSCURRENT {before} -> {now}; in {s.cfg.dr_region}: {replica}"


def game_days(s: Session) -> None:
    """The quarterly game days through the Monitoring stack's FIS templates: each from a steady
    service, watched until steady again (the actions are the emulator's stand-ins, EXTENSIONS);
    one refused while an alarm is firing."""
    for experiment in GAME_DAY_EXPERIMENTS:
        s.deploy_sh("game-day", experiment, *_env(s), *_health(s), look_for="ok    recovery: steady again")
    firing = s.cfg.names.alarm("failed-logins")
    s.check(f"{firing} in ALARM (a brute force under way)", lambda: _alarm_state(s, firing, "ALARM"), stand_in=True)
    s.deploy_sh("game-day", "task-loss", *_env(s), *_health(s), expect=1, look_for="not started: a game day starts from a steady service")
    s.check(f"{firing} back to OK", lambda: _alarm_state(s, firing, "OK"), stand_in=True)


def _alarm_state(s: Session, alarm: str, state: str) -> tuple[bool, str]:
    s.client("cloudwatch").set_alarm_state(AlarmName=alarm, StateValue=state, StateReason="sandbox stand-in")
    return True, f"{alarm} set to {state}"


def _delete_restore(s: Session) -> tuple[bool, str]:
    rds = s.client("rds", s.cfg.dr_region)
    name = s.cfg.names.db_restored_instance
    rds.modify_db_instance(DBInstanceIdentifier=name, DeletionProtection=False, ApplyImmediately=True)
    rds.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True)
    return True, f"{name} deleted"


def dr_switch(s: Session) -> None:
    """Two DR drills in a row, as the README runs them: `dr-activate` promotes the replica, the
    health-check in the DR region (the manual's `export AWS_REGION=us-east-1`), `dr-standby`
    snapshots the drill's database and creates a new replica; nothing is deleted by hand."""
    region = s.cfg.dr_region
    replicas: list[str] = []
    s.check("standby holds a replica of the primary", lambda: _replica(s, replicas))
    s.deploy_sh("dr-readiness", *_env(s))
    _activation_resumed(s)
    s.deploy_sh("dr-standby", *_env(s), look_for=f"{s.cfg.names.dr_final_snapshot_prefix}-")
    s.check("standby again, with a new replica", lambda: _replica(s, replicas))
    # A point-in-time copy beside the replica (the manual's "Database Recovery"): no activation minds it.
    s.deploy_sh("dr-restore", *_env(s), "--latest")
    for _ in ("first drill", "second drill"):
        # A drill moves no real user: the DR copy is checked by its own load balancer, DNS is left alone.
        s.deploy_sh("dr-activate", *_env(s), *_health(s, region), look_for="DNS unchanged: real users stay on the primary")
        s.check("the replica promoted in place, the service running", lambda: _promoted(s))
        s.deploy_sh("health-check", *_env(s), *_health(s, region), region=region)
        s.deploy_sh("dr-standby", *_env(s), look_for=f"{s.cfg.names.dr_final_snapshot_prefix}-")
        s.check("standby again, with a new replica", lambda: _replica(s, replicas))
    s.check("each drill's database kept in a final snapshot", lambda: _final_snapshots(s, 3))
    s.check(f"{s.cfg.names.db_restored_instance} deleted, as the drill asks", lambda: _delete_restore(s))
    s.deploy_sh("dr-readiness", *_env(s))


def _activation_resumed(s: Session) -> None:
    """The release has not reached the DR repository yet: readiness says so, the activation stops
    half-way (the replica promoted, the service's deployment failed) without a rollback, and
    once the image is there, dr-activate again finishes it."""
    tag = s.cfg.service.image_tag
    s.check(
        f"{s.cfg.names.repository}:{tag} not yet replicated to {s.cfg.dr_region}", lambda: _dr_image(s, tag, present=False), stand_in=True
    )
    s.deploy_sh("dr-readiness", *_env(s), expect=1, look_for="release in the DR repository")
    s.deploy_sh("dr-activate", *_env(s), *_dr_health(s), expect=2, look_for="run this command again once fixed")
    s.check("stopped half-way: UPDATE_FAILED, the replica promoted, nothing rolled back", lambda: _half_way(s))
    s.check(f"{s.cfg.names.repository}:{tag} replicated to {s.cfg.dr_region}", lambda: _dr_image(s, tag, present=True), stand_in=True)
    s.deploy_sh("dr-activate", *_env(s), *_dr_health(s))
    s.check("the activation finished", lambda: _promoted(s))


def _dr_image(s: Session, tag: str, *, present: bool) -> tuple[bool, str]:
    """ECR replication behind (the image taken out of the DR repository), or caught up (copied there)."""
    repository, dr = s.cfg.names.repository, s.client("ecr", s.cfg.dr_region)
    if not present:
        dr.batch_delete_image(repositoryName=repository, imageIds=[{"imageTag": tag}])
        return True, f"{repository}:{tag} removed from {s.cfg.dr_region}"
    (image,) = s.client("ecr").batch_get_image(repositoryName=repository, imageIds=[{"imageTag": tag}])["images"]
    dr.put_image(repositoryName=repository, imageTag=tag, imageManifest=image["imageManifest"])
    return True, f"{repository}:{tag} in {s.cfg.dr_region}"


def _half_way(s: Session) -> tuple[bool, str]:
    status, db = s.stack_status("DR"), _dr_database(s) or {}
    promoted = bool(db) and not db.get("ReadReplicaSourceDBInstanceIdentifier")
    return status == "UPDATE_FAILED" and promoted, f"{status}; {s.cfg.dr_db_instance} {'promoted' if promoted else 'still a replica'}"


def backups_drills(s: Session) -> None:
    """The pilot light that keeps replicated backups only (`dr.database = "backups"`, set in the
    config file before the first deploy): two drills that each restore, the log groups there from
    the start, a different restore source on an active stack refused, a final snapshot each time."""
    s.check('config/production.toml: dr.database = "backups"', lambda: _dr_database_mode(s, "backups"), stand_in=True)
    new_account(s)
    region = s.cfg.dr_region
    s.check("standby has no database, its log groups are there", lambda: _pilot_light(s))
    s.deploy_sh("dr-readiness", *_env(s))
    for _ in ("first drill", "second drill"):
        s.deploy_sh("dr-activate", *_env(s), "--latest", *_dr_health(s))
        s.check("restored, the service running", lambda: _restored(s))
        s.deploy_sh("health-check", *_env(s), *_health(s, region), region=region)
        s.deploy_sh(
            "dr-activate", *_env(s), "--time", "2026-11-27T18:00:00Z", *_dr_health(s), expect=2, look_for="go back to standby first"
        )
        s.deploy_sh("dr-standby", *_env(s), look_for=f"{s.cfg.names.dr_final_snapshot_prefix}-")
        s.check("standby again, the restore let go", lambda: _pilot_light(s))
    s.check("each drill's database kept in a final snapshot", lambda: _final_snapshots(s, 2))
    # dr-restore, then an activation: refused while that restore holds the name, then from its snapshot.
    s.deploy_sh("dr-restore", *_env(s), "--latest")
    s.deploy_sh("dr-activate", *_env(s), "--latest", *_dr_health(s), expect=2, look_for="outside the DR stack")
    s.check(f"{s.cfg.names.db_restored_instance} deleted with a final snapshot (README)", lambda: _keep_restore(s), stand_in=True)
    s.deploy_sh("dr-activate", *_env(s), "--snapshot", KEPT_RESTORE, *_dr_health(s))
    s.check("restored from that snapshot, the service running", lambda: _restored(s))
    s.deploy_sh("dr-standby", *_env(s), look_for=f"{s.cfg.names.dr_final_snapshot_prefix}-")
    # The README's switch between the modes: the config file, then dr-standby.
    s.check('config/production.toml: dr.database = "replica"', lambda: _dr_database_mode(s, "replica"), stand_in=True)
    s.deploy_sh("dr-standby", *_env(s))
    s.check("standby with a replica", lambda: _replica(s, []))
    s.check('config/production.toml: dr.database = "backups"', lambda: _dr_database_mode(s, "backups"), stand_in=True)
    s.deploy_sh("dr-standby", *_env(s))
    s.check(
        "standby without a database, the replica let go (not left outside the stack)",
        lambda: _pilot_light(s, gone=s.cfg.names.db_replica_instance),
    )


KEPT_RESTORE = "contractorlens-db-restored-kept"


def _keep_restore(s: Session) -> tuple[bool, str]:
    """The README's two aws commands: protection off, deleted with a final snapshot."""
    rds, name = s.client("rds", s.cfg.dr_region), s.cfg.names.db_restored_instance
    rds.modify_db_instance(DBInstanceIdentifier=name, DeletionProtection=False, ApplyImmediately=True)
    rds.delete_db_instance(DBInstanceIdentifier=name, FinalDBSnapshotIdentifier=KEPT_RESTORE)
    (snapshot,) = rds.describe_db_snapshots(DBSnapshotIdentifier=KEPT_RESTORE)["DBSnapshots"]
    return snapshot["Status"] == "available", f"{name} deleted; snapshot {KEPT_RESTORE} {snapshot['Status']}"


def _edit_config(s: Session, old: str, new: str) -> str:
    """What an engineer does in the checkout's config file (the first `old` becomes `new`); the
    session's config is read again. Returns the file's name."""
    path = s.checkout / "config" / f"{s.cfg.name}.toml"
    path.write_text(path.read_text().replace(old, new, 1))
    s.cfg = load_environment(s.cfg.name, s.checkout / "config")
    return path.name


def _dr_database_mode(s: Session, mode: str) -> tuple[bool, str]:
    name = _edit_config(s, f'database = "{s.cfg.dr.database}"', f'database = "{mode}"')
    return s.cfg.dr.database == mode, f"{name}: dr.database = {s.cfg.dr.database!r}"


def _pilot_light(s: Session, gone: str = "") -> tuple[bool, str]:
    """Standby in backups mode: no DR database (nor `gone`), its log groups there."""
    groups = s.client("logs", s.cfg.dr_region).describe_log_groups(logGroupNamePrefix=f"/aws/rds/instance/{s.cfg.dr_db_instance}/")
    found = sorted(g["logGroupName"] for g in groups["logGroups"])
    db, tasks, status = _dr_database(s), _dr_tasks(s), s.stack_status("DR")
    left = (
        s.client("rds", s.cfg.dr_region).describe_db_instances(Filters=[{"Name": "db-instance-id", "Values": [gone]}])["DBInstances"]
        if gone
        else []
    )
    ok = db is None and not left and tasks == 0 and len(found) == 2 and status in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
    return ok, f"{status}, {tasks} tasks, {'no database' if db is None else db['DBInstanceIdentifier']}, log groups {found}" + (
        f", {gone} still there" if left else ""
    )


def _master_secret(s: Session, region: str) -> str | None:
    """The ARN of the master secret in `region` (in the DR region: its replica), or None."""
    try:
        return str(s.client("secretsmanager", region).describe_secret(SecretId=s.cfg.names.db_master_secret)["ARN"])
    except ClientError:
        return None


def _opened_by_the_secrets_replica(s: Session, db: dict | None) -> bool:
    """A DR copy keeps the primary's password (RDS does not manage it: failback makes a replica of
    it), which the master secret's replica in the DR region holds."""
    return db is not None and not db.get("MasterUserSecret") and _master_secret(s, s.cfg.dr_region) is not None


def _restored(s: Session) -> tuple[bool, str]:
    db, tasks = _dr_database(s), _dr_tasks(s)
    available = db is not None and db["DBInstanceStatus"] == "available"
    ok = available and _opened_by_the_secrets_replica(s, db) and tasks >= s.cfg.service.min_tasks
    return ok, f"{s.cfg.dr_db_instance} {db['DBInstanceStatus'] if db else 'missing'}, {tasks} tasks"


def _dr_database(s: Session) -> dict | None:
    found = s.client("rds", s.cfg.dr_region).describe_db_instances(Filters=[{"Name": "db-instance-id", "Values": [s.cfg.dr_db_instance]}])[
        "DBInstances"
    ]
    return found[0] if found else None


def _dr_tasks(s: Session) -> int:
    ecs = s.client("ecs", s.cfg.dr_region)
    (service,) = ecs.describe_services(cluster=s.cfg.names.cluster, services=[s.cfg.names.service])["services"]
    return int(service["desiredCount"])


def _replica(s: Session, seen: list[str]) -> tuple[bool, str]:
    """In standby, with a replica of the primary that is not one seen before (a promoted one is let go)."""
    db, status, tasks = _dr_database(s) or {}, s.stack_status("DR"), _dr_tasks(s)
    source, resource_id = db.get("ReadReplicaSourceDBInstanceIdentifier"), db.get("DbiResourceId", "")
    new = resource_id not in seen
    seen.append(resource_id)
    ok = status in ("CREATE_COMPLETE", "UPDATE_COMPLETE") and tasks == 0 and source == s.cfg.db_instance_arn and new
    return (
        ok,
        f"{status}, {tasks} tasks, {s.cfg.dr_db_instance} ({resource_id}, {'new' if new else 'seen before'}) replicating from {source}",
    )


def _promoted(s: Session) -> tuple[bool, str]:
    db, tasks = _dr_database(s), _dr_tasks(s)
    standalone = db is not None and not db.get("ReadReplicaSourceDBInstanceIdentifier") and _opened_by_the_secrets_replica(s, db)
    ok = standalone and tasks >= s.cfg.service.min_tasks
    state = "standalone, opened by the master secret's replica" if standalone else "not promoted"
    return ok, f"{s.cfg.dr_db_instance} {state}, {tasks} tasks"


def _final_snapshots(s: Session, count: int) -> tuple[bool, str]:
    snapshots = s.client("rds", s.cfg.dr_region).describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
    ours = sorted(
        x["DBSnapshotIdentifier"] for x in snapshots if x["DBSnapshotIdentifier"].startswith(s.cfg.names.dr_final_snapshot_prefix)
    )
    return len(ours) == count, ", ".join(ours) or "none"


def failback(s: Session) -> None:
    """A drill that moves real users, then the region lost, and the way back, with the README's
    commands: dr-activate --move-traffic (the replica promoted, DNS moved), dr-standby refused (the
    copy holds real writes), the primary region lost and back with its stale database; failback
    hold, replicate (the stale instance kept aside), switchover and finish, each step refused out
    of order first; the DR region in standby again with a fresh replica, nothing deleted by hand."""
    names, region = s.cfg.names, s.cfg.dr_region
    s.deploy_sh("dr-activate", *_env(s), "--move-traffic", *_health(s, region), look_for="the primary's health check is inverted")
    s.check("the replica promoted, the service running", lambda: _promoted(s))
    s.deploy_sh("dr-standby", *_env(s), expect=2, look_for="bring them back with ./scripts/deploy.sh failback status")
    s.check(f"the primary region lost: {names.db_instance} stopped", lambda: _primary_db(s, stop=True), stand_in=True)
    s.deploy_sh("health-check", *_env(s), *_health(s, region), region=region)
    s.deploy_sh("dr-standby", *_env(s), expect=2, look_for="fail back instead")
    s.check(f"the primary region back: {names.db_instance} started, stale", lambda: _primary_db(s, stop=False), stand_in=True)
    # DNS is held on the DR region already (--move-traffic): replicate is next, and hold changes nothing.
    s.deploy_sh("failback", "status", *_env(s), look_for="failback replicate")
    s.deploy_sh("failback", "hold", *_env(s))
    s.deploy_sh("failback", "replicate", *_env(s), expect=2, look_for='created_as = "replica"')
    s.check(f'config/{s.cfg.name}.toml: database.created_as = "replica"', lambda: _created_as_replica(s), stand_in=True)
    s.deploy_sh("failback", "switchover", *_env(s), expect=2, look_for="failback replicate")
    s.deploy_sh("failback", "replicate", *_env(s), look_for=names.db_stale_prefix)
    s.check(
        f"{names.db_instance} replicates the DR database; the stale one kept aside, its backups no longer copied",
        lambda: _replicating_back(s),
    )
    s.deploy_sh(s.cfg.name, *_health(s), expect=1, look_for="a failback is in progress")
    s.deploy_sh("db-users", *_env(s), expect=2, look_for="is a read replica")
    s.deploy_sh("failback", "finish", *_env(s), expect=2, look_for="failback switchover")
    s.deploy_sh("failback", "switchover", *_env(s))
    s.check(f"{names.db_instance} the primary again, db-users on its new secret", lambda: _failed_back(s))
    # Idempotent: the role came back with the data; running it again on the new primary passes.
    s.deploy_sh("db-users", *_env(s), look_for=f"{names.app_db_user} in")
    s.deploy_sh("health-check", *_env(s), *_health(s))
    s.deploy_sh("failback", "finish", *_env(s), look_for=f"{names.dr_final_snapshot_prefix}-")
    s.check("standby again, with a replica of the new primary", lambda: _replica(s, []))
    s.deploy_sh("failback", "status", *_env(s), look_for="no failback in progress")
    s.cdk("diff", names.stack("Data"), "-c", f"env={s.cfg.name}", look_for="There were no differences")
    s.deploy_sh("dr-readiness", *_env(s))


def _primary_db(s: Session, *, stop: bool) -> tuple[bool, str]:
    """Stands in for a region lost and back (RDS stops no instance with a read replica: after the promotion)."""
    rds, name = s.client("rds"), s.cfg.names.db_instance
    if stop:
        rds.stop_db_instance(DBInstanceIdentifier=name)
    else:
        rds.start_db_instance(DBInstanceIdentifier=name)
    (db,) = rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"]
    return True, f"{name} {db['DBInstanceStatus']}"


def _created_as_replica(s: Session) -> tuple[bool, str]:
    name = _edit_config(s, "[database]\n", '[database]\ncreated_as = "replica"\n')
    return s.cfg.database.created_as == "replica", f"{name}: database.created_as = {s.cfg.database.created_as!r}"


def _replicating_back(s: Session) -> tuple[bool, str]:
    names, rds = s.cfg.names, s.client("rds")
    (db,) = rds.describe_db_instances(DBInstanceIdentifier=names.db_instance)["DBInstances"]
    stale = [
        d["DBInstanceIdentifier"]
        for d in rds.describe_db_instances()["DBInstances"]
        if d["DBInstanceIdentifier"].startswith(names.db_stale_prefix)
    ]
    source = db.get("ReadReplicaSourceDBInstanceIdentifier")
    status = s.stack_status("Data")
    # The stale one no longer copies its backups into the DR region (what it copied stays).
    copies = [
        b["Status"]
        for d in rds.describe_db_instances()["DBInstances"]
        if d["DBInstanceIdentifier"] in stale
        for b in s.client("rds", s.cfg.dr_region).describe_db_instance_automated_backups(DbiResourceId=d["DbiResourceId"])[
            "DBInstanceAutomatedBackups"
        ]
    ]
    stopped = "replicating" not in copies and (copies or not s.cfg.database.replicate_backups_to_dr)
    ok = source == s.cfg.dr_db_instance_arn and len(stale) == 1 and status == "UPDATE_COMPLETE" and bool(stopped)
    return (
        ok,
        f"{names.db_instance} replicating from {source}; kept aside: {stale}, its backups' copies in the DR region {copies}; Data stack {status}",
    )


def _password_secrets(s: Session, task_definition: str) -> set[str]:
    """The secrets whose `password` a task definition's containers are given."""
    definition = s.client("ecs").describe_task_definition(taskDefinition=task_definition)["taskDefinition"]
    return {
        x["valueFrom"].split(":password")[0]
        for c in definition["containerDefinitions"]
        for x in c.get("secrets", [])
        if "password" in x["valueFrom"]
    }


def _failed_back(s: Session) -> tuple[bool, str]:
    """The master secret, kept through the failback, is what the parameter names and what the
    db-users task is given; the backend's tasks get it only when they log in with it."""
    names = s.cfg.names
    (db,) = s.client("rds").describe_db_instances(DBInstanceIdentifier=names.db_instance)["DBInstances"]
    secret = _master_secret(s, s.cfg.region) if not db.get("MasterUserSecret") else None
    parameter = s.client("ssm").get_parameter(Name=f"{names.parameter_prefix}/db/secret-arn")["Parameter"]["Value"]
    (service,) = s.client("ecs").describe_services(cluster=names.cluster, services=[names.service])["services"]
    used = _password_secrets(s, service["taskDefinition"])
    admin = _password_secrets(s, names.db_users_task_family)
    standalone = not db.get("ReadReplicaSourceDBInstanceIdentifier") and bool(secret)
    expected = {secret} if s.cfg.database.app_login == "master-secret" else set()
    ok = standalone and parameter == secret and used == expected and admin == {secret} and _dr_tasks(s) == 0
    state = "standalone" if standalone else "still a replica"
    found = f"secret {secret}, parameter {parameter}, service tasks use {used or 'none'}, db-users uses {admin}"
    return ok, f"{names.db_instance} {state}, {found}, {_dr_tasks(s)} DR tasks"


def teardown(s: Session) -> None:
    """`npx cdk destroy --all` of staging and a deploy again: the destroy keeps logs, images,
    secrets and the backup vault; first-deploy names them; `leftovers --delete` removes them; the
    deploy works."""
    env, health = _env(s), _health(s)
    registry = ["deploy", s.cfg.names.stack("Registry"), "-c", f"env={s.cfg.name}"]
    _bootstrap(s)
    for attempt in ("deploy", "deploy again"):
        # The repository first (README: one stack by name), its image, then the rest.
        s.cdk(*registry)
        s.push(s.cfg.service.image_tag)
        s.deploy_sh("first-deploy", *env, *health)
        if attempt == "deploy again":
            break
        s.cdk("destroy", "--all", "-c", f"env={s.cfg.name}", "--force")
        s.check(
            "every stack deleted",
            lambda: (all(s.stack_status(p) == "none" for p in _stacks(s)), f"{[s.stack_status(p) for p in _stacks(s)]}"),
        )
        s.deploy_sh("first-deploy", *env, *health, expect=2, look_for="leftovers")
        # The unlocked staging vault is kept by the destroy too, and deleted here.
        s.deploy_sh("leftovers", *env, "--delete", look_for=s.cfg.names.backup_vault)


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("new-account", "bootstrap, first-deploy (stops for the image), push, first-deploy, health-check", new_account),
        Scenario(
            "bad-release",
            "an unpushed tag refused, a failing release rolled back by ECS and CloudFormation, a flawed one rolled back by hand",
            bad_release,
            needs=("new-account",),
        ),
        Scenario(
            "on-call",
            "cdk diff, preflight, restart, scale, logs, certs, backups, security-review, leftovers, dr-restore",
            on_call,
            needs=("new-account",),
        ),
        Scenario(
            "dr-switch",
            "two drills that move no real user: dr-activate promotes the replica and checks the copy, health-check in the DR region, dr-standby snapshots and re-creates it",
            dr_switch,
            needs=("failed-first-deploy", "new-account"),
        ),
        Scenario(
            "failed-first-deploy",
            "the Data, Service and DR stacks fail their first create, roll back, and are retried",
            failed_first_deploy,
        ),
        Scenario(
            "backups-drills",
            'dr.database = "backups": first deploy, readiness, two drills that restore, a second restore source refused, '
            "a switch to replica mode and back",
            backups_drills,
        ),
        Scenario(
            "failback",
            "a drill that moves real users, the region lost, and back: dr-activate --move-traffic, dr-standby refused, failback hold, replicate, switchover, finish, each refused out of order first",
            failback,
            needs=("new-account",),
        ),
        Scenario(
            "maintenance",
            "checklist daily, weekly (failing on an image finding), monthly; db-password; the three game days (one refused on a firing alarm); quarterly, after a drill",
            maintenance,
            # After dr-switch where it runs, so that the quarterly list finds its drill.
            needs=("failed-first-deploy", "new-account"),
        ),
        Scenario("teardown", "cdk destroy --all of staging, leftovers, and a deploy again", teardown, environment="staging"),
    )
}
