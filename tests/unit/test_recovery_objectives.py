"""The manual's recovery objectives, checked against the settings that carry them (README: Recovery objectives)."""

from __future__ import annotations

import json

from tests.synth import Synthesis

# Disaster Recovery > RTO and RPO, from the manual, in minutes.
RPO_DATABASE = 15
RTO_APPLICATION = 30
RTO_DATABASE = 120


def test_database_rpo_continuous_backups_replicated_to_the_dr_region(production: Synthesis) -> None:
    (db,) = production.resources("Data", "AWS::RDS::DBInstance").values()
    props = db["Properties"]
    # Point-in-time recovery (automated backups with transaction logs) is what keeps the RPO
    # in minutes; the replication keeps it in the DR region.
    assert props["BackupRetentionPeriod"] >= 1
    assert props["AutomaticBackupReplicationRegion"] == "us-east-1"
    assert props["AutomaticBackupReplicationRetentionPeriod"] == props["BackupRetentionPeriod"]
    assert props["DeleteAutomatedBackups"] is False


def test_application_rto_dns_fails_over_well_within_30_minutes(production: Synthesis) -> None:
    (check,) = production.resources("Service", "AWS::Route53::HealthCheck").values()
    config = check["Properties"]["HealthCheckConfig"]
    detection_minutes = config["RequestInterval"] * config["FailureThreshold"] / 60
    assert detection_minutes <= RTO_APPLICATION / 10


def test_application_rto_everything_but_the_tasks_is_already_standing_in_the_dr_region(production: Synthesis) -> None:
    for type_name in (
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "AWS::CertificateManager::Certificate",
        "AWS::ECS::Service",
        "AWS::WAFv2::WebACL",
        "AWS::Route53::RecordSet",
    ):
        assert production.resources("DR", type_name), type_name
    (replication,) = production.resources("Registry", "AWS::ECR::ReplicationConfiguration").values()
    assert "us-east-1" in json.dumps(replication)


def test_database_rto_failover_promotes_what_is_already_in_the_dr_region(production: Synthesis, dr_active: Synthesis) -> None:
    """Replica mode: the data is already there, seconds behind; active only promotes it."""
    standby = production.template("DR")["Resources"]["ReplicaDatabase"]["Properties"]
    active = dr_active.template("DR")["Resources"]["ReplicaDatabase"]["Properties"]
    assert standby["SourceDBInstanceIdentifier"].startswith("arn:aws:rds:us-west-2:")
    assert "SourceDBInstanceIdentifier" not in active and "SourceRegion" not in active


def test_production_keeps_the_mode_that_meets_the_database_rpo(production: Synthesis) -> None:
    """Replicated backups alone give 5 to 30 minutes (AWS Prescriptive Guidance): production keeps a
    replica, whose lag pages at the manual's RPO."""
    assert production.cfg.dr.database == "replica"
    alarms = {r["Properties"]["AlarmName"]: r["Properties"] for r in production.resources("DR", "AWS::CloudWatch::Alarm").values()}
    critical = alarms["contractorlens-production-replica-lag-critical"]
    assert critical["MetricName"] == "ReplicaLag" and critical["Threshold"] == RPO_DATABASE * 60
    assert alarms["contractorlens-production-replica-lag"]["Threshold"] < RPO_DATABASE * 60
