"""Where moto differs from AWS in a way that is not this project's to model: each fix is one
that moto upstream could take as it is, named for what it corrects."""

from __future__ import annotations

from typing import Any

EXTENSIONS = {
    "partial secret ARNs": (
        "a secret, a replica too, is found by its ARN less the six random characters (Secrets Manager user guide, "
        "'Secret ARN'), by lookup and by every API call (GetSecretValue, DescribeSecret); moto found a partial ARN only by the "
        "name it holds, so never a replica"
    ),
    "secret replicas' keys": (
        "a replica keeps the KmsKeyId of its replica configuration (Secrets Manager API reference, ReplicaRegionType); moto "
        "put every replica under aws/secretsmanager"
    ),
    "AWS::IAM::Role updates": (
        "apply the inline Policies and the trust policy in place, as CloudFormation does (CloudFormation user guide, "
        "AWS::IAM::Role: both update with no interruption; moto changed only the description "
        "and session duration, so a permission added by an update never took effect). ManagedPolicyArns stay as moto makes "
        "them, unattached at create and update alike: the emulator's decisions see no AWS managed policy (stricter, never "
        "kinder; no task execution role of the stacks has one)"
    ),
    "image digests": (
        "an image's digest is the SHA-256 of its manifest as pushed (ECR API reference, ImageIdentifier: imageDigest is "
        "'the sha256 digest of the image manifest'), so two images differ in digest when their manifests do; moto "
        "hashed the layer digests only, giving every image without layers the same digest"
    ),
    "PutImage to a missing repository": (
        "RepositoryNotFoundException (ECR API reference, PutImage: Errors); moto raised a bare exception, which its "
        "server answered with HTTP 500"
    ),
    "log group Fn::GetAtt Arn": (
        "ends in `:*`, as CloudFormation documents it for AWS::Logs::LogGroup (moto returned the ARN without it), so a "
        "policy naming the group through Fn::GetAtt covers its log streams as it does in AWS"
    ),
}


def install_log_group_arn_attribute() -> None:
    from moto.logs.models import LogGroup

    def get_cfn_attribute(self: Any, attribute_name: str) -> str:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attribute_name == "Arn":
            return f"{self.arn}:*"
        raise UnformattedGetAttTemplateException()

    LogGroup.get_cfn_attribute = get_cfn_attribute  # type: ignore[method-assign]


def install_role_update() -> None:
    """An update of AWS::IAM::Role applies its inline `Policies` and trust policy, as CloudFormation
    does in place (moto updated the description and session duration only)."""
    import json

    from moto.iam.models import Role

    original = Role.update_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def update(
        cls: Any, original_resource: Any, new_resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> Any:
        role = original(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name)
        props = cloudformation_json["Properties"]
        wanted = {p["PolicyName"]: p["PolicyDocument"] for p in props.get("Policies", [])}
        for name in [n for n in role.policies if n not in wanted]:
            role.delete_policy(name)
        for name, document in wanted.items():
            role.put_policy(name, json.dumps(document) if isinstance(document, dict) else document)
        if "AssumeRolePolicyDocument" in props:
            role.assume_role_policy_document = json.dumps(props["AssumeRolePolicyDocument"])
        return role

    Role.update_from_cloudformation_json = classmethod(update)  # type: ignore[method-assign,assignment]


def install_replica_keys() -> None:
    """A secret's replica keeps the KMS key its replica configuration names (moto put every replica
    under aws/secretsmanager), so ECS in the replica's region needs that key, as in AWS."""
    from moto.secretsmanager.models import FakeSecret

    original = FakeSecret.create_replicas

    def create_replicas(self: Any, replica_regions: list[dict[str, str]], force_overwrite: bool) -> Any:
        replicas = original(self, replica_regions, force_overwrite)
        keys = {config["Region"]: config.get("KmsKeyId") for config in replica_regions}
        for replica in replicas:
            if keys.get(replica.region):
                replica.kms_key_id = replica.config["KmsKeyId"] = keys[replica.region]
        return replicas

    FakeSecret.create_replicas = create_replicas  # type: ignore[method-assign]


def install_partial_secret_arns() -> None:
    """A secret is found by its partial ARN (the ARN less its six random characters) in every region
    it is in, a replica's too (Secrets Manager user guide, 'Secret ARN'; ECS takes one in `valueFrom`);
    moto looked a partial ARN up by name, which finds no replica."""
    from moto.secretsmanager.models import SecretsStore

    original = SecretsStore.get

    def get(self: Any, key: str) -> Any:
        found = original(self, key)
        if found is None and key.startswith("arn:"):
            found = next((s for s in dict.values(self) if s.arn[: -len("-AbCdEf")] == key), None)
        return found

    # Every API call first asks `in` (the backend's _is_valid_identifier) and then indexes.
    def contains(self: Any, key: str) -> bool:
        return get(self, key) is not None

    def getitem(self: Any, key: str) -> Any:
        found = get(self, key)
        if found is None:
            raise KeyError(key)
        return found

    SecretsStore.get = get  # type: ignore[method-assign]
    SecretsStore.__contains__ = contains  # type: ignore[method-assign,assignment]
    SecretsStore.__getitem__ = getitem  # type: ignore[method-assign]


def manifest_digest(image: Any) -> None:
    """ECR's digest of an image: the SHA-256 of its manifest (moto's `Image._create_digest`)."""
    import hashlib

    image._image_digest = "sha256:" + hashlib.sha256(image.image_manifest.encode()).hexdigest()


def install_manifest_digest() -> None:
    from moto.ecr.models import Image

    Image._create_digest = manifest_digest  # type: ignore[method-assign]


def install_put_image_missing_repository() -> None:
    """Installed after every other PutImage extension, so that it runs first."""
    from moto.ecr.exceptions import RepositoryNotFoundException
    from moto.ecr.models import ECRBackend

    original = ECRBackend.put_image

    def put_image(self: Any, repository_name: str, *args: Any, **kwargs: Any) -> Any:
        if repository_name not in self.repositories:
            raise RepositoryNotFoundException(repository_name, self.account_id)
        return original(self, repository_name, *args, **kwargs)

    ECRBackend.put_image = put_image  # type: ignore[method-assign]
