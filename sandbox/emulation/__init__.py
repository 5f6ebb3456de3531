"""What the sandbox adds to moto before it serves, so that the templates deploy as synthesized.

moto 5 models most of the API calls the runbook makes, but its CloudFormation engine lacks
intrinsics and resource types that CDK emits, drops properties of others, and runs custom
resources only as Lambda functions in Docker, which this machine does not have. Each extension
stands for one thing AWS does, and says so in its module's EXTENSIONS; the report prints them
all, so a green sandbox is never mistaken for more than it is.

`install()` patches moto in the process that calls it: only the emulator's own process
(sandbox/server.py) does, never a test process, whose moto must stay as shipped.
"""

from __future__ import annotations

from sandbox.emulation import (
    access,
    backup,
    cloudformation,
    custom_resources,
    ecs,
    engine,
    fis,
    lifecycle,
    monitoring,
    moto_fixes,
    network,
    rds,
    resources,
    service,
)
from sandbox.emulation.cloudformation import SKIPPED_PREFIX
from sandbox.emulation.common import ENDPOINT
from sandbox.emulation.ecs import FAILING_TAGS, app_healthy, service_images

EXTENSIONS: dict[str, str] = {
    **engine.EXTENSIONS,
    **service.EXTENSIONS,
    **lifecycle.EXTENSIONS,
    **cloudformation.EXTENSIONS,
    **resources.EXTENSIONS,
    **network.EXTENSIONS,
    **rds.EXTENSIONS,
    **ecs.EXTENSIONS,
    **custom_resources.EXTENSIONS,
    **backup.EXTENSIONS,
    **monitoring.EXTENSIONS,
    **fis.EXTENSIONS,
    **access.EXTENSIONS,
    **moto_fixes.EXTENSIONS,
}

__all__ = ["ENDPOINT", "EXTENSIONS", "FAILING_TAGS", "SKIPPED_PREFIX", "app_healthy", "install", "service_images"]


def install() -> None:
    """Apply every extension; once, in the emulator's process, before it serves."""
    moto_fixes.install_log_group_arn_attribute()
    moto_fixes.install_role_update()
    moto_fixes.install_replica_keys()
    moto_fixes.install_partial_secret_arns()
    moto_fixes.install_manifest_digest()
    access.install()
    cloudformation.install_intrinsics()
    cloudformation.install_failure_reasons()
    cloudformation.install_placeholders()
    service.install()
    custom_resources.install()
    resources.install_kms()
    resources.install_tag_maps()
    resources.define_models()
    backup.define_models()
    backup.install_reads()
    backup.install_plan_names()
    network.define_models()
    network.install_routes()
    network.install_vpc_attributes()
    network.install_ssl_policies()
    network.install_groups_in_use()
    resources.install_ecr_replication()
    rds.install()
    ecs.install()
    ecs.install_target_health()
    monitoring.install()
    moto_fixes.install_put_image_missing_repository()  # after the PutImage extensions above, so it runs first
    fis.install()
    resources.MODELS.extend(fis.define_models())
    from moto.cloudformation import parsing

    # moto caches its type -> model map; the models defined above must be in it.
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()
