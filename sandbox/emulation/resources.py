"""Resource types moto's CloudFormation lacks or gets wrong, made through the emulator's API."""

from __future__ import annotations

import json
from typing import Any

from sandbox.emulation.common import PhysicalId, api_kwargs, camel, client

EXTENSIONS = {
    "AWS::EC2::VPCCidrBlock": "associates an Amazon-provided IPv6 /56 with the VPC",
    "AWS::EC2::EgressOnlyInternetGateway": "creates the gateway through the EC2 API",
    "AWS::ECR::ReplicationConfiguration": "sets the registry's replication rules",
    "ECR replication": "an image pushed to a repository the rules match appears in each destination region's repository of the same name, created if missing (ECR replicates within minutes; here at once)",
    "AWS::CloudWatch::Alarm": "creates the alarm through the API (it is never evaluated: no metrics)",
    "AWS::CloudWatch::CompositeAlarm": "creates the composite alarm (never evaluated)",
    "AWS::SecretsManager::Secret": "creates the secret through the API, with its generated value and replicas",
    "AWS::SecretsManager::SecretTargetAttachment": "writes the instance's engine, host, port and identifier into the secret's JSON (a new version, which its replicas show), and Ref is the secret's ARN (CloudFormation template reference, AWS::SecretsManager::SecretTargetAttachment); removing it leaves the secret as it is. Only TargetType AWS::RDS::DBInstance",
    "AWS::ApplicationAutoScaling::ScalableTarget": "registers the target and raises the service to its minimum at once, as AWS does",
    "AWS::ApplicationAutoScaling::ScalingPolicy": "puts the policy (it never scales: no metrics)",
    "AWS::CertificateManager::Certificate": "requests the certificate; moto issues it at once (no DNS validation happens)",
    "AWS::KMS::Key": "takes the template's Key/Value tags and policy object (moto wants TagKey/TagValue and a string)",
    "AWS::SSM::Parameter": "takes the template's tag map (moto wants the API's list)",
    "AWS::SNS::Subscription": "subscribes through the SNS API (Subscribe, Unsubscribe); an e-mail or HTTP(S) subscription waits for its confirmation (see 'SNS subscription confirmation'); an update of other properties (FilterPolicy, DeliveryPolicy, RawMessageDelivery) changes nothing here",
    "AWS::Scheduler::Schedule": "creates the schedule through EventBridge Scheduler's API (moto's; EventBridge Scheduler API reference, CreateSchedule, UpdateSchedule, DeleteSchedule), so its properties are checked against the API's shapes; it never fires: the sandbox calls the daily checklist's handler itself",
}


def install_kms() -> None:
    from moto.kms.models import Key

    original = Key.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(cls: Any, resource_name: str, cloudformation_json: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        props = cloudformation_json.get("Properties", {})
        props["Tags"] = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in props.get("Tags", [])]
        if isinstance(props.get("KeyPolicy"), dict):  # the API stores the policy as a JSON string
            props["KeyPolicy"] = json.dumps(props["KeyPolicy"])
        return original(cls, resource_name, cloudformation_json, *args, **kwargs)

    Key.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign,assignment]


class _ApiModel(PhysicalId):
    """A resource type moto's CloudFormation lacks, created through the emulator's own API, so
    botocore checks the template's properties against the real API's shapes on the way."""

    NAME_PROPERTY = ""
    ARN = ""  # the Arn attribute from the physical id, when that is not an ARN itself

    def __init__(self, physical_id: str, region: str) -> None:
        self.physical_id, self.region = physical_id, region

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "Arn" and self.physical_id.startswith("arn:"):
            return self.physical_id
        if attribute_name == "Arn" and self.ARN:
            return self.ARN.format(region=self.region, id=self.physical_id)
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        props = dict(cloudformation_json.get("Properties", {}))
        if cls.NAME_PROPERTY and not props.get(cls.NAME_PROPERTY):
            props[cls.NAME_PROPERTY] = resource_name
        return cls(cls.create(props, region_name), region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> Any:
        """An update puts the resource again (the APIs below are idempotent puts), or `update`."""
        props = dict(cloudformation_json.get("Properties", {}))
        if cls.NAME_PROPERTY and not props.get(cls.NAME_PROPERTY):
            props[cls.NAME_PROPERTY] = new_resource_name
        return cls(cls.update(original_resource.physical_id, props, region_name), region_name)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        cls.remove(resource_name, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        self.remove(self.physical_id, region_name)

    @classmethod
    def create(cls, props: dict[str, Any], region: str) -> str:
        raise NotImplementedError

    @classmethod
    def update(cls, physical_id: str, props: dict[str, Any], region: str) -> str:
        return cls.create(props, region)

    @classmethod
    def remove(cls, physical_id: str, region: str) -> None:
        raise NotImplementedError(f"the sandbox cannot delete {cls.__name__} {physical_id}")


# moto finds models as CloudFormationModel's subclasses, which it holds weakly: these keep them.
MODELS: list[type] = []


def define_models() -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.core.common_models import CloudFormationModel

    class VpcCidrBlock(_ApiModel, CloudFormationModel):
        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::EC2::VPCCidrBlock"

        @classmethod
        def create(cls, props: dict[str, Any], region: str) -> str:
            kwargs = {"VpcId": props["VpcId"]}
            if props.get("AmazonProvidedIpv6CidrBlock"):
                kwargs["AmazonProvidedIpv6CidrBlock"] = True
            else:
                kwargs["CidrBlock"] = props["CidrBlock"]
            result = client("ec2", region).associate_vpc_cidr_block(**kwargs)
            association = result.get("Ipv6CidrBlockAssociation") or result["CidrBlockAssociation"]
            return association["AssociationId"]

        @classmethod
        def remove(cls, physical_id: str, region: str) -> None:
            client("ec2", region).disassociate_vpc_cidr_block(AssociationId=physical_id)

    class Alarm(_ApiModel, CloudFormationModel):
        NAME_PROPERTY = "AlarmName"
        ARN = "arn:aws:cloudwatch:{region}:" + DEFAULT_ACCOUNT_ID + ":alarm:{id}"

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::CloudWatch::Alarm"

        @classmethod
        def create(cls, props: dict[str, Any], region: str) -> str:
            cloudwatch = client("cloudwatch", region)
            cloudwatch.put_metric_alarm(**api_kwargs(cloudwatch, "PutMetricAlarm", props))
            return props["AlarmName"]

        @classmethod
        def remove(cls, physical_id: str, region: str) -> None:
            client("cloudwatch", region).delete_alarms(AlarmNames=[physical_id])

    class CompositeAlarm(Alarm, CloudFormationModel):  # a direct subclass, or moto would not list it
        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::CloudWatch::CompositeAlarm"

        @classmethod
        def create(cls, props: dict[str, Any], region: str) -> str:
            from moto.cloudwatch.models import cloudwatch_backends

            # moto's server has no PutCompositeAlarm; its backend stores a composite as an alarm with a rule.
            cloudwatch_backends[DEFAULT_ACCOUNT_ID][region].put_metric_alarm(
                name=props["AlarmName"],
                namespace=None,
                metric_name=None,  # type: ignore[arg-type]
                comparison_operator=None,
                evaluation_periods=None,
                period=None,
                threshold=None,  # type: ignore[arg-type]
                statistic=None,
                description=props.get("AlarmDescription"),
                dimensions=[],  # type: ignore[arg-type]
                alarm_actions=props.get("AlarmActions", []),
                ok_actions=props.get("OKActions", []),
                insufficient_data_actions=props.get("InsufficientDataActions", []),
                actions_enabled=props.get("ActionsEnabled", True),
                rule=props["AlarmRule"],
            )
            return props["AlarmName"]

    class EgressOnlyInternetGateway(_ApiModel, CloudFormationModel):
        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::EC2::EgressOnlyInternetGateway"

        @classmethod
        def create(cls, props: dict[str, Any], region: str) -> str:
            result = client("ec2", region).create_egress_only_internet_gateway(VpcId=props["VpcId"])
            return result["EgressOnlyInternetGateway"]["EgressOnlyInternetGatewayId"]

        @classmethod
        def remove(cls, physical_id: str, region: str) -> None:
            client("ec2", region).delete_egress_only_internet_gateway(EgressOnlyInternetGatewayId=physical_id)

    class ReplicationConfiguration(_ApiModel, CloudFormationModel):
        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::ECR::ReplicationConfiguration"

        @classmethod
        def create(cls, props: dict[str, Any], region: str) -> str:
            client("ecr", region).put_replication_configuration(replicationConfiguration=camel(props["ReplicationConfiguration"]))
            return f"replication-{region}"

        @classmethod
        def remove(cls, physical_id: str, region: str) -> None:
            client("ecr", region).put_replication_configuration(replicationConfiguration={"rules": []})

    class Secret(_ApiModel, CloudFormationModel):
        NAME_PROPERTY = "Name"

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::SecretsManager::Secret"

        @classmethod
        def create(cls, props: dict[str, Any], region: str) -> str:
            secrets = client("secretsmanager", region)
            kwargs = {k: props[k] for k in ("Name", "Description", "KmsKeyId", "SecretString", "Tags") if props.get(k)}
            generate = props.get("GenerateSecretString")
            if generate is not None and "SecretString" not in kwargs:
                options = {k: v for k, v in generate.items() if k not in ("SecretStringTemplate", "GenerateStringKey")}
                password = secrets.get_random_password(**options)["RandomPassword"]
                if generate.get("SecretStringTemplate"):
                    password = json.dumps({**json.loads(generate["SecretStringTemplate"]), generate["GenerateStringKey"]: password})
                kwargs["SecretString"] = password
            if props.get("ReplicaRegions"):
                kwargs["AddReplicaRegions"] = props["ReplicaRegions"]
            return secrets.create_secret(**kwargs)["ARN"]

        @classmethod
        def update(cls, physical_id: str, props: dict[str, Any], region: str) -> str:
            secrets = client("secretsmanager", region)
            secrets.update_secret(SecretId=physical_id, **{k: props[k] for k in ("Description", "KmsKeyId") if props.get(k)})
            return physical_id

        @classmethod
        def remove(cls, physical_id: str, region: str) -> None:
            # CloudFormation deletes a secret at once, without a recovery window, replicas first.
            secrets = client("secretsmanager", region)
            replicas = [r["Region"] for r in secrets.describe_secret(SecretId=physical_id).get("ReplicationStatus", [])]
            if replicas:
                secrets.remove_regions_from_replication(SecretId=physical_id, RemoveReplicaRegions=replicas)
            secrets.delete_secret(SecretId=physical_id, ForceDeleteWithoutRecovery=True)

    class SecretTargetAttachment(_ApiModel, CloudFormationModel):
        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::SecretsManager::SecretTargetAttachment"

        @classmethod
        def create(cls, props: dict[str, Any], region: str) -> str:
            if props["TargetType"] != "AWS::RDS::DBInstance":
                raise NotImplementedError(f"the sandbox attaches secrets to AWS::RDS::DBInstance only, not {props['TargetType']}")
            secrets = client("secretsmanager", region)
            (db,) = client("rds", region).describe_db_instances(DBInstanceIdentifier=props["TargetId"])["DBInstances"]
            found = secrets.get_secret_value(SecretId=props["SecretId"])
            value = json.loads(found["SecretString"]) | {
                "engine": db["Engine"],
                "host": db["Endpoint"]["Address"],
                "port": db["Endpoint"]["Port"],
                "dbInstanceIdentifier": db["DBInstanceIdentifier"],
            }
            secrets.put_secret_value(SecretId=props["SecretId"], SecretString=json.dumps(value))
            return str(found["ARN"])

        @classmethod
        def remove(cls, physical_id: str, region: str) -> None:
            return None

    class ScalableTarget(_ApiModel, CloudFormationModel):
        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::ApplicationAutoScaling::ScalableTarget"

        @classmethod
        def create(cls, props: dict[str, Any], region: str) -> str:
            keys = ("ServiceNamespace", "ResourceId", "ScalableDimension", "MinCapacity", "MaxCapacity", "RoleARN", "SuspendedState")
            client("application-autoscaling", region).register_scalable_target(**{k: props[k] for k in keys if k in props})
            # Application Auto Scaling raises a service below its minimum to the minimum at once.
            _, cluster, service = props["ResourceId"].split("/")
            ecs = client("ecs", region)
            (described,) = ecs.describe_services(cluster=cluster, services=[service])["services"]
            if described["desiredCount"] < int(props["MinCapacity"]):
                ecs.update_service(cluster=cluster, service=service, desiredCount=int(props["MinCapacity"]))
            return "|".join((props["ResourceId"], props["ScalableDimension"], props["ServiceNamespace"]))

        @classmethod
        def remove(cls, physical_id: str, region: str) -> None:
            resource_id, dimension, namespace = physical_id.split("|")
            client("application-autoscaling", region).deregister_scalable_target(
                ServiceNamespace=namespace, ResourceId=resource_id, ScalableDimension=dimension
            )

    class ScalingPolicy(_ApiModel, CloudFormationModel):
        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::ApplicationAutoScaling::ScalingPolicy"

        @classmethod
        def create(cls, props: dict[str, Any], region: str) -> str:
            kwargs = {k: v for k, v in props.items() if k != "ScalingTargetId"}
            if props.get("ScalingTargetId"):
                resource_id, dimension, namespace = props["ScalingTargetId"].split("|")
                kwargs.update(ResourceId=resource_id, ScalableDimension=dimension, ServiceNamespace=namespace)
            return client("application-autoscaling", region).put_scaling_policy(**kwargs)["PolicyARN"]

        @classmethod
        def remove(cls, physical_id: str, region: str) -> None:
            autoscaling = client("application-autoscaling", region)
            for policy in autoscaling.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"]:
                if policy["PolicyARN"] == physical_id:
                    autoscaling.delete_scaling_policy(
                        PolicyName=policy["PolicyName"],
                        ServiceNamespace="ecs",
                        ResourceId=policy["ResourceId"],
                        ScalableDimension=policy["ScalableDimension"],
                    )

    class Certificate(_ApiModel, CloudFormationModel):
        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::CertificateManager::Certificate"

        @classmethod
        def create(cls, props: dict[str, Any], region: str) -> str:
            acm = client("acm", region)
            kwargs = {k: props[k] for k in ("DomainName", "SubjectAlternativeNames", "ValidationMethod") if props.get(k)}
            if props.get("Tags"):
                kwargs["Tags"] = props["Tags"]
            return acm.request_certificate(**kwargs)["CertificateArn"]

        @classmethod
        def update(cls, physical_id: str, props: dict[str, Any], region: str) -> str:
            return physical_id  # only tags change in place; the rest replaces the certificate

        @classmethod
        def remove(cls, physical_id: str, region: str) -> None:
            client("acm", region).delete_certificate(CertificateArn=physical_id)

    class PullThroughCacheRule(_ApiModel, CloudFormationModel):
        # Every property is create-only: a change replaces the rule, and its prefix, still taken
        # by the old one, makes the new one fail AlreadyExists, as in AWS. No in-place update.

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::ECR::PullThroughCacheRule"

        @classmethod
        def create(cls, props: dict[str, Any], region: str) -> str:
            from botocore.exceptions import ClientError

            from sandbox.emulation.ecs import PULL_THROUGH_CACHE_RULES

            prefix = props["EcrRepositoryPrefix"]
            if (DEFAULT_ACCOUNT_ID, region, prefix) in PULL_THROUGH_CACHE_RULES:
                error = {
                    "Code": "PullThroughCacheRuleAlreadyExistsException",
                    "Message": f"A pull through cache rule with prefix '{prefix}' already exists",
                }
                raise ClientError({"Error": error}, "CreatePullThroughCacheRule")
            credential = props.get("CredentialArn")
            if credential:
                try:
                    client("secretsmanager", region).describe_secret(SecretId=credential)
                except ClientError:
                    message = f"The ARN of the secret specified in the pull through cache rule was not found: {credential}"
                    raise ClientError(
                        {"Error": {"Code": "SecretNotFoundException", "Message": message}}, "CreatePullThroughCacheRule"
                    ) from None
            PULL_THROUGH_CACHE_RULES[(DEFAULT_ACCOUNT_ID, region, prefix)] = {k: v for k, v in props.items() if isinstance(v, str)}
            return str(prefix)

        @classmethod
        def remove(cls, physical_id: str, region: str) -> None:
            from sandbox.emulation.ecs import PULL_THROUGH_CACHE_RULES

            PULL_THROUGH_CACHE_RULES.pop((DEFAULT_ACCOUNT_ID, region, physical_id), None)

    class Schedule(_ApiModel, CloudFormationModel):
        NAME_PROPERTY = "Name"

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::Scheduler::Schedule"

        @classmethod
        def create(cls, props: dict[str, Any], region: str) -> str:
            scheduler = client("scheduler", region)
            scheduler.create_schedule(**api_kwargs(scheduler, "CreateSchedule", props))  # the API is PascalCase too
            return str(props["Name"])

        @classmethod
        def update(cls, physical_id: str, props: dict[str, Any], region: str) -> str:
            scheduler = client("scheduler", region)
            scheduler.update_schedule(**api_kwargs(scheduler, "UpdateSchedule", props))
            return physical_id

        @classmethod
        def remove(cls, physical_id: str, region: str) -> None:
            client("scheduler", region).delete_schedule(Name=physical_id)

    class Subscription(_ApiModel, CloudFormationModel):
        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::SNS::Subscription"

        @classmethod
        def create(cls, props: dict[str, Any], region: str) -> str:
            sns = client("sns", props.get("Region") or region)
            return str(
                sns.subscribe(
                    TopicArn=props["TopicArn"], Protocol=props["Protocol"], Endpoint=props["Endpoint"], ReturnSubscriptionArn=True
                )["SubscriptionArn"]
            )

        @classmethod
        def update(cls, physical_id: str, props: dict[str, Any], region: str) -> str:
            return physical_id  # TopicArn, Protocol and Endpoint are create-only: a change replaces it

        @classmethod
        def remove(cls, physical_id: str, region: str) -> None:
            client("sns", physical_id.split(":")[3]).unsubscribe(SubscriptionArn=physical_id)

    MODELS.extend(
        (
            Subscription,
            Schedule,
            PullThroughCacheRule,
            VpcCidrBlock,
            Alarm,
            CompositeAlarm,
            EgressOnlyInternetGateway,
            ReplicationConfiguration,
            Secret,
            SecretTargetAttachment,
            ScalableTarget,
            ScalingPolicy,
            Certificate,
        )
    )


def install_tag_maps() -> None:
    """AWS::SSM::Parameter takes its Tags as a map; moto reads them as the API's list."""
    from moto.ssm.models import Parameter

    original = Parameter.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(cls: Any, resource_name: str, cloudformation_json: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        props = cloudformation_json.get("Properties", {})
        if isinstance(props.get("Tags"), dict):
            props["Tags"] = [{"Key": k, "Value": v} for k, v in props["Tags"].items()]
        return original(cls, resource_name, cloudformation_json, *args, **kwargs)

    Parameter.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign,assignment]


def install_ecr_replication() -> None:
    """ECR copies each pushed image to the registry's replication destinations; moto keeps the
    rules but copies nothing."""
    from moto.ecr.models import ECRBackend, ecr_backends

    put_image = ECRBackend.put_image

    def replicated(self: Any, repository_name: str, image_manifest: str, image_tag: str, *args: Any, **kwargs: Any) -> Any:
        image = put_image(self, repository_name, image_manifest, image_tag, *args, **kwargs)
        for rule in self.replication_config.get("rules", []):
            filters = [f["filter"] for f in rule.get("repositoryFilters", []) if f.get("filterType") == "PREFIX_MATCH"]
            if filters and not any(repository_name.startswith(prefix) for prefix in filters):
                continue
            for destination in rule.get("destinations", []):
                target = ecr_backends[destination.get("registryId", self.account_id)][destination["region"]]
                if target is self:
                    continue
                if repository_name not in target.repositories:
                    source = self.repositories[repository_name]
                    target.create_repository(
                        repository_name,
                        None,
                        {"encryptionType": "AES256"},
                        {"scanOnPush": False},
                        source.image_tag_mutability,
                        [],
                    )
                stored = target.repositories[repository_name].images
                if not any(image_tag in (i.image_tags or []) for i in stored):
                    put_image(target, repository_name, image_manifest, image_tag, *args, **kwargs)
        return image

    ECRBackend.put_image = replicated  # type: ignore[method-assign]
