"""A synthesis's templates read as the account they would make: roles and their policies, KMS keys
and their key policies, topics, secrets and the other resource policies, every value resolved.

A physical name that CloudFormation generates (a key id, a role without a name) becomes a stable
stand-in built from the stack and logical id, so a policy that names the resource through `Ref`
or `Fn::GetAtt` matches the request that names it the same way, and a wildcard such as
`key/*` still matches. ARN and return-value formats are the ones each resource type's page in
the CloudFormation User Guide gives for `Ref` and `Fn::GetAtt`. Anything the resolver does not
know raises `UnresolvedError`, so a new intrinsic or type is added here on purpose, never guessed.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from review.access.policy import Decision, Policy, Request, Source, decide


class UnresolvedError(ValueError):
    """A template value this model cannot resolve."""


@dataclass(frozen=True)
class StackEnv:
    name: str
    account: str
    region: str

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account if account else ''}:{resource}"


_SECRET_SUFFIX = "-AbCdEf"  # Secrets Manager appends six random characters to every secret's ARN


def _ref(env: StackEnv, logical_id: str, resource: Mapping[str, Any], prop: Callable[[str], Any]) -> str:
    """`Ref`'s return value by type (CloudFormation User Guide, each type's "Return values");
    `prop` resolves one property of the resource, only when the type's name needs it."""
    kind, token = resource["Type"], f"{env.name}-{logical_id}"

    def name(key: str, default: str = "") -> Any:
        found = prop(key)
        return default if found is None else found

    table: dict[str, Callable[[], str]] = {
        "AWS::IAM::Role": lambda: str(name("RoleName", token)),
        "AWS::KMS::Key": lambda: token,
        "AWS::SNS::Topic": lambda: env.arn("sns", str(name("TopicName", token))),
        "AWS::Logs::LogGroup": lambda: str(name("LogGroupName", token)),
        "AWS::SecretsManager::Secret": lambda: env.arn("secretsmanager", f"secret:{name('Name', token)}{_SECRET_SUFFIX}"),
        "AWS::SecretsManager::SecretTargetAttachment": lambda: str(name("SecretId")),  # the secret's ARN
        "AWS::SSM::Parameter": lambda: str(name("Name", token)),
        "AWS::ECR::Repository": lambda: str(name("RepositoryName", token)),
        "AWS::Lambda::Function": lambda: str(name("FunctionName", token)),
        "AWS::ElasticLoadBalancingV2::LoadBalancer": lambda: env.arn("elasticloadbalancing", f"loadbalancer/app/{token}/0"),
        "AWS::ElasticLoadBalancingV2::TargetGroup": lambda: env.arn("elasticloadbalancing", f"targetgroup/{token}/0"),
        "AWS::RDS::DBInstance": lambda: str(name("DBInstanceIdentifier", token)).lower(),
        "AWS::ECS::Cluster": lambda: str(name("ClusterName", token)),
        "AWS::KMS::Alias": lambda: str(name("AliasName")),
        "AWS::S3::Bucket": lambda: str(name("BucketName", token.lower())),
    }
    return table[kind]() if kind in table else token


def _get_att(env: StackEnv, logical_id: str, resource: Mapping[str, Any], prop: Callable[[str], Any], attribute: str) -> str:
    kind, token = resource["Type"], f"{env.name}-{logical_id}"
    ref = _ref(env, logical_id, resource, prop)
    arns: dict[tuple[str, str], Callable[[], str]] = {
        ("AWS::IAM::Role", "Arn"): lambda: f"arn:aws:iam::{env.account}:role/{ref}",
        ("AWS::KMS::Key", "Arn"): lambda: env.arn("kms", f"key/{ref}"),
        ("AWS::KMS::Key", "KeyId"): lambda: ref,
        ("AWS::SNS::Topic", "TopicArn"): lambda: ref,
        ("AWS::Logs::LogGroup", "Arn"): lambda: env.arn("logs", f"log-group:{ref}:*"),
        ("AWS::ECR::Repository", "Arn"): lambda: env.arn("ecr", f"repository/{ref}"),
        ("AWS::Lambda::Function", "Arn"): lambda: env.arn("lambda", f"function:{ref}"),
        ("AWS::RDS::DBInstance", "DbiResourceId"): lambda: f"db-{token.upper()}",
        ("AWS::RDS::DBInstance", "DBInstanceArn"): lambda: env.arn("rds", f"db:{ref}"),
        ("AWS::RDS::DBInstance", "MasterUserSecret.SecretArn"): lambda: env.arn("secretsmanager", f"secret:rds!db-{token}{_SECRET_SUFFIX}"),
        ("AWS::SecretsManager::Secret", "Id"): lambda: ref,
        ("AWS::S3::Bucket", "Arn"): lambda: f"arn:aws:s3:::{ref}",
        ("AWS::EFS::FileSystem", "Arn"): lambda: env.arn("elasticfilesystem", f"file-system/fs-{token.lower()}"),
    }
    if (kind, attribute) in arns:
        return arns[(kind, attribute)]()
    return f"{token}.{attribute}"


@dataclass
class Account:
    """Every stack of one synthesis, as the account (and its DR region) would hold them."""

    templates: dict[str, dict[str, Any]]
    envs: dict[str, StackEnv]

    @classmethod
    def from_synthesis(cls, templates: Mapping[str, Mapping[str, Any]], manifest: Mapping[str, Any]) -> Account:
        envs = {}
        for name in templates:
            environment = manifest["artifacts"][name]["environment"]  # aws://<account>/<region>
            account, region = environment.removeprefix("aws://").split("/")
            envs[name] = StackEnv(name, account, region)
        return cls(copy.deepcopy(dict(templates)), envs)  # type: ignore[arg-type]

    @property
    def account(self) -> str:
        return next(iter(self.envs.values())).account

    # --- values -------------------------------------------------------------------------------

    def resolve(self, stack: str, node: Any) -> Any:
        """A template value with every intrinsic function replaced by what it returns."""
        return _Resolver(self, stack).value(node)

    def resources(self, type_name: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(stack, logical id, resource) of every resource of a type, over all stacks."""
        for stack, template in self.templates.items():
            for logical_id, resource in template.get("Resources", {}).items():
                if resource["Type"] == type_name:
                    yield stack, logical_id, resource

    def prop(self, stack: str, logical_id: str, key: str) -> Any:
        """One property, resolved; None when absent (the others may hold what this model cannot resolve)."""
        return self.resolve(stack, self.templates[stack]["Resources"][logical_id].get("Properties", {}).get(key))

    def props(self, stack: str, logical_id: str) -> dict[str, Any]:
        return dict(self.resolve(stack, self.templates[stack]["Resources"][logical_id].get("Properties", {})))

    # --- who holds which policy ---------------------------------------------------------------

    @cached_property
    def _roles(self) -> dict[str, tuple[str, str]]:
        """Role ARN -> (stack, logical id)."""
        return {self.resolve(s, {"Fn::GetAtt": [lid, "Arn"]}): (s, lid) for s, lid, _ in self.resources("AWS::IAM::Role")}

    def role_of(self, arn: str) -> tuple[str, str]:
        if arn not in self._roles and not _is_deployer(arn):
            raise UnresolvedError(f"no role in these templates has the ARN {arn}")
        return self._roles[arn]

    def identity_policies(self, role_arn: str) -> list[Policy]:
        if _is_deployer(role_arn):
            return [Policy(aws_managed_policy(ADMINISTRATOR), Source("cdk bootstrap", "CloudFormationExecutionRole", ()), managed=True)]
        stack, logical_id = self.role_of(role_arn)
        role = self.templates[stack]["Resources"][logical_id]["Properties"]
        found = [
            Policy(self.resolve(stack, p["PolicyDocument"]), Source(stack, logical_id, ("Properties", "Policies", i, "PolicyDocument")))
            for i, p in enumerate(role.get("Policies", []))
        ]
        for i, arn in enumerate(self.resolve(stack, role.get("ManagedPolicyArns", []))):
            found.append(Policy(aws_managed_policy(arn), Source(stack, logical_id, ("Properties", "ManagedPolicyArns", i)), managed=True))
        for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            for pstack, pid, resource in self.resources(kind):
                if pstack == stack and {"Ref": logical_id} in resource["Properties"].get("Roles", []):
                    found.append(
                        Policy(
                            self.resolve(pstack, resource["Properties"]["PolicyDocument"]),
                            Source(pstack, pid, ("Properties", "PolicyDocument")),
                        )
                    )
        return found

    def trust_policy(self, role_arn: str) -> Policy:
        stack, logical_id = self.role_of(role_arn)
        role = self.templates[stack]["Resources"][logical_id]["Properties"]
        return Policy(
            self.resolve(stack, role["AssumeRolePolicyDocument"]), Source(stack, logical_id, ("Properties", "AssumeRolePolicyDocument"))
        )

    @cached_property
    def _keys(self) -> dict[str, tuple[str, str]]:
        """Key ARN, and each alias ARN, -> (stack, logical id) of the key."""
        found = {}
        for stack, logical_id, _ in self.resources("AWS::KMS::Key"):
            found[self.resolve(stack, {"Fn::GetAtt": [logical_id, "Arn"]})] = (stack, logical_id)
        for stack, _, alias in self.resources("AWS::KMS::Alias"):
            target = self.resolve(stack, alias["Properties"]["TargetKeyId"])
            key = next((k for k in found if k == target or k.endswith(f"/{target}")), None)
            if key is not None:
                found[self.envs[stack].arn("kms", self.resolve(stack, alias["Properties"]["AliasName"]))] = found[key]
        return found

    def key(self, reference: str, *, region: str) -> tuple[str, Policy]:
        """(the key's ARN, its key policy) for a key ARN, alias ARN, key id or alias name."""
        env = next(e for e in self.envs.values() if e.region == region)
        candidates = [reference, env.arn("kms", reference), env.arn("kms", f"key/{reference}")]
        hit = next((self._keys[c] for c in candidates if c in self._keys), None)
        if hit is None:
            raise UnresolvedError(f"no KMS key in these templates is {reference} in {region}")
        stack, logical_id = hit
        arn = self.resolve(stack, {"Fn::GetAtt": [logical_id, "Arn"]})
        props = self.templates[stack]["Resources"][logical_id]["Properties"]
        return arn, Policy(self.resolve(stack, props["KeyPolicy"]), Source(stack, logical_id, ("Properties", "KeyPolicy")))

    def key_aliases(self, key_arn: str) -> list[str]:
        target = self._keys[key_arn]
        return [arn.split(":", 5)[5] for arn, hit in self._keys.items() if hit == target and ":alias/" in arn]

    def resource_policy(self, resource_arn: str) -> Policy | None:
        """The resource-based policy AWS would consult beside the caller's: SNS topic policies, S3 bucket
        policies, EFS file-system policies (read for every request on the file system, AWS Backup's
        too: an explicit deny in a resource policy wins wherever IAM evaluates one)."""
        for stack, logical_id, resource in self.resources("AWS::SNS::TopicPolicy"):
            if resource_arn in self.resolve(stack, resource["Properties"]["Topics"]):
                return Policy(
                    self.resolve(stack, resource["Properties"]["PolicyDocument"]),
                    Source(stack, logical_id, ("Properties", "PolicyDocument")),
                )
        for stack, logical_id, resource in self.resources("AWS::S3::BucketPolicy"):
            bucket = f"arn:aws:s3:::{self.resolve(stack, resource['Properties']['Bucket'])}"
            if resource_arn == bucket or resource_arn.startswith(f"{bucket}/"):
                return Policy(
                    self.resolve(stack, resource["Properties"]["PolicyDocument"]),
                    Source(stack, logical_id, ("Properties", "PolicyDocument")),
                )
        for stack, logical_id, resource in self.resources("AWS::EFS::FileSystem"):
            policy = resource["Properties"].get("FileSystemPolicy")
            if policy is not None and resource_arn == self.resolve(stack, {"Fn::GetAtt": [logical_id, "Arn"]}):
                return Policy(self.resolve(stack, policy), Source(stack, logical_id, ("Properties", "FileSystemPolicy")))
        return None

    # --- decisions ----------------------------------------------------------------------------

    def decide(self, request: Request, *, key: Policy | None = None) -> Decision:
        # Another account's principal (an AWS service account, such as Elastic Load Balancing's in a
        # region) is allowed by its own IAM, which is AWS's: the resource policy alone decides here.
        foreign = not request.is_service and request.principal.split(":")[4] != self.account
        identity = [] if request.is_service or foreign else self.identity_policies(request.principal)
        if key is not None:
            return decide(request, identity, key, account=self.account, key_policy=True)
        return decide(request, identity, self.resource_policy(request.resource), account=self.account)

    def assume(self, request: Request) -> Decision:
        """A service assuming a role (`request.resource`): the role's trust policy must name the service."""
        return decide(request, [], self.trust_policy(request.resource), account=self.account)


ADMINISTRATOR = "arn:aws:iam::aws:policy/AdministratorAccess"


def _is_deployer(arn: str) -> bool:
    """The role CloudFormation deploys with, made by `cdk bootstrap` (AdministratorAccess by default)."""
    return ":role/cdk-hnb659fds-cfn-exec-role-" in arn


@lru_cache(maxsize=1)
def _managed_policies() -> dict[str, Any]:
    # moto ships AWS's managed policies as IAM returns them; their content is AWS's, not moto's.
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return dict(json.loads(aws_managed_policies_data))


def aws_managed_policy(arn: str) -> dict[str, Any]:
    """An AWS managed policy's document, by its ARN."""
    name = arn.rsplit("/", 1)[-1]
    if not arn.startswith("arn:aws:iam::aws:policy/") or name not in _managed_policies():
        raise UnresolvedError(f"no copy of the managed policy {arn}")
    return dict(_managed_policies()[name]["Document"])


@dataclass
class _Resolver:
    account: Account
    stack: str

    @property
    def env(self) -> StackEnv:
        return self.account.envs[self.stack]

    @property
    def template(self) -> dict[str, Any]:
        return self.account.templates[self.stack]

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self.value(item) for item in node) if v is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            handler = _INTRINSICS.get(key)
            if handler is not None:
                return handler(self, arg)
            if key.startswith("Fn::"):
                raise UnresolvedError(f"{self.stack}: the intrinsic {key} is not modelled")
        return {k: v for k, v in ((k, self.value(v)) for k, v in node.items()) if v is not _NO_VALUE}

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::AccountId": self.env.account,
            "AWS::Region": self.env.region,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": self.stack,
            "AWS::NoValue": _NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.template.get("Parameters", {}):
            parameter = self.template["Parameters"][name]
            if parameter["Type"].startswith("AWS::SSM::Parameter::Value"):
                return f"{{ssm:{parameter['Default']}}}"  # read from Parameter Store at deploy time
            return parameter.get("Default", f"{{parameter:{name}}}")
        resource = self._resource(name)
        return _ref(self.env, name, resource, self._prop(resource))

    def get_att(self, arg: Any) -> Any:
        logical_id, attribute = arg.split(".", 1) if isinstance(arg, str) else arg
        resource = self._resource(logical_id)
        if resource["Type"] == "Custom::AWS" and self.value(attribute) == "KeyMetadata.Arn":
            return self._described_key(logical_id, resource)
        return _get_att(self.env, logical_id, resource, self._prop(resource), self.value(attribute))

    def _described_key(self, logical_id: str, resource: Mapping[str, Any]) -> str:
        """What an AwsCustomResource's KMS `describeKey` returns: the ARN of the key its KeyId names in
        the call's region (KMS API reference, DescribeKey). A KeyId no template holds there resolves
        to its own ARN in that region, which every key lookup then refuses, as the deploy would fail."""
        call = json.loads(self.value(resource["Properties"]["Create"]))
        if (call.get("service"), call.get("action")) != ("KMS", "describeKey"):
            raise UnresolvedError(f"{self.stack}/{logical_id}: KeyMetadata.Arn of a {call.get('service')} {call.get('action')} call")
        key_id, region = call["parameters"]["KeyId"], call.get("region") or self.env.region
        try:
            return self.account.key(key_id, region=region)[0]
        except UnresolvedError:
            return key_id if key_id.startswith("arn:") else f"arn:aws:kms:{region}:{self.env.account}:{key_id}"

    def _prop(self, resource: Mapping[str, Any]) -> Callable[[str], Any]:
        return lambda key: self.value(resource.get("Properties", {}).get(key))

    def _resource(self, logical_id: str) -> dict[str, Any]:
        resources = self.template.get("Resources", {})
        if logical_id not in resources:
            raise UnresolvedError(f"{self.stack}: nothing named {logical_id}")
        return dict(resources[logical_id])

    def join(self, arg: Any) -> str:
        separator, items = arg
        return str(separator).join(str(v) for v in self.value(items))

    def sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.value(arg[1]))
        out, rest = [], text
        while "${" in rest:
            before, _, after = rest.partition("${")
            name, _, rest = after.partition("}")
            out.append(before)
            if name.startswith("!"):
                out.append("${" + name[1:] + "}")
            elif name in variables:
                out.append(str(variables[name]))
            elif "." in name and not name.startswith("AWS::"):
                out.append(str(self.get_att(name)))
            else:
                out.append(str(self.ref(name)))
        return "".join([*out, rest])

    def stack_output(self, arg: Any) -> Any:
        spec = self.value(arg)
        other = spec["StackName"]
        if other not in self.account.templates:
            raise UnresolvedError(f"{self.stack}: reads an output of {other}, which this synthesis does not hold")
        return _Resolver(self.account, other).value(self.account.templates[other]["Outputs"][spec["OutputName"]]["Value"])

    def import_value(self, arg: Any) -> Any:
        name = self.value(arg)
        for stack, template in self.account.templates.items():
            for output in template.get("Outputs", {}).values():
                if output.get("Export") and _Resolver(self.account, stack).value(output["Export"]["Name"]) == name:
                    return _Resolver(self.account, stack).value(output["Value"])
        raise UnresolvedError(f"{self.stack}: no stack exports {name}")

    def select(self, arg: Any) -> Any:
        index, items = self.value(arg)
        return items[int(index)]

    def split(self, arg: Any) -> list[str]:
        separator, text = self.value(arg)
        return str(text).split(separator)


_NO_VALUE = object()
_INTRINSICS: dict[str, Callable[[_Resolver, Any], Any]] = {
    "Ref": _Resolver.ref,
    "Fn::GetAtt": _Resolver.get_att,
    "Fn::Join": _Resolver.join,
    "Fn::Sub": _Resolver.sub,
    "Fn::GetStackOutput": _Resolver.stack_output,
    "Fn::ImportValue": _Resolver.import_value,
    "Fn::Select": _Resolver.select,
    "Fn::Split": _Resolver.split,
}
