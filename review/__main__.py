"""`make diff`: synthesize every environment, compare each stack with its committed snapshot, report by risk.

Exit 0 when nothing would replace or delete a stateful resource (and "no changes" when the
templates equal the snapshots), 1 when something would, 2 when it could not compare.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from config import ConfigError, available_environments, load_environment
from config.dr import parse_dr_context
from review.diff import diff_stack, render
from review.synth import ROOT, normalized, synthesize

SNAPSHOTS = Path("tests/snapshots")
ACTIVE_SUFFIX = "-active"


def _snapshots(base: str | None, directory: Path) -> dict[str, dict[str, Any]]:
    """The committed snapshots: of the working tree, or of git revision `base`."""
    if base is None:
        return {p.stem: json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))}
    listing = subprocess.run(
        ["git", "ls-tree", "--name-only", f"{base}:{SNAPSHOTS}"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if listing.returncode != 0:
        raise ValueError(f"--base {base}: git cannot read {SNAPSHOTS} there ({listing.stderr.strip()})")
    found = {}
    for name in listing.stdout.split():
        body = subprocess.run(["git", "show", f"{base}:{SNAPSHOTS}/{name}"], cwd=ROOT, capture_output=True, text=True, check=True)
        found[Path(name).stem] = json.loads(body.stdout)
    return found


def _synthesized(env: str) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Every stack of `env`, and its DR stack in active mode, normalized like the snapshots."""
    cfg = load_environment(env)
    templates, regions = {}, {}
    with tempfile.TemporaryDirectory() as outdir:
        synth = synthesize(cfg, Path(outdir) / "standby")
        active = None
        if cfg.dr.enabled:
            active = synthesize(cfg, Path(outdir) / "active", parse_dr_context("active", None, dr_region=cfg.dr_region))
        for result, suffix in ((synth, ""), (active, ACTIVE_SUFFIX)):
            if result is None:
                continue
            if result.error:
                raise ValueError(f"synth failed: {result.error}")
            for name, template in result.templates.items():
                if suffix and name != cfg.names.stack("DR"):
                    continue
                templates[name + suffix] = normalized(template)
                regions[name + suffix] = result.manifest["artifacts"][name]["environment"].rsplit("/", 1)[1]
    return templates, regions


def compare(old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]], regions: dict[str, str], *, against: str) -> tuple[str, int]:
    """The report of every stack's changes, and the exit code: 1 when a stateful resource goes."""
    lines: list[str] = []
    blocking = changed = 0
    for stack in sorted(set(old) | set(new)):
        changes = diff_stack(old.get(stack, {}), new.get(stack, {}), region=regions.get(stack, "us-east-1"))
        if not changes:
            continue
        changed += 1
        blocking += sum(1 for c in changes if c.blocking)
        if stack not in old:
            lines.append(f"{stack}: new stack (no snapshot yet)")
        elif stack not in new:
            lines.append(f"{stack}: no longer synthesized")
        lines += render(stack, changes)
        lines.append("")
    if not changed:
        verdict = f"no changes against {against}"
    elif blocking:
        verdict = (
            f"{changed} stack(s) changed against {against}; {blocking} stateful resource(s) would be replaced or "
            "deleted: read the REPLACEMENT and DATA PROTECTION groups above before acknowledging"
        )
    else:
        verdict = f"{changed} stack(s) changed against {against}; no stateful resource is replaced or deleted"
    lines.append(verdict)
    return "\n".join(lines), 1 if blocking else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make diff", description=__doc__)
    parser.add_argument(
        "--env",
        action="append",
        help="an environment whose stacks are compared (repeatable; default: every config/<env>.toml)",
    )
    parser.add_argument("--base", help="compare with the snapshots of this git revision instead of the working tree's")
    parser.add_argument("--snapshots", type=Path, default=ROOT / SNAPSHOTS, help="snapshot folder (default: %(default)s)")
    parser.add_argument("--report", type=Path, help="also write the report here, as Markdown (for a CI job summary)")
    args = parser.parse_args(argv)
    environments = args.env or available_environments()
    try:
        old = _snapshots(args.base, args.snapshots)
        new: dict[str, dict[str, Any]] = {}
        regions: dict[str, str] = {}
        for env in environments:
            templates, stack_regions = _synthesized(env)
            new |= templates
            regions |= stack_regions
        # With --env, the other environments' snapshots are left out rather than reported gone.
        prefixes = tuple(load_environment(env).names.stack("") for env in environments)
        old = {name: body for name, body in old.items() if name.startswith(prefixes)}
    except (ConfigError, ValueError, OSError, subprocess.CalledProcessError) as exc:
        print(f"error: make diff: {exc}", file=sys.stderr)
        return 2
    if args.base:
        against = f"the snapshots at {args.base}"
    elif args.snapshots == ROOT / SNAPSHOTS:
        against = "the committed snapshots"
    else:
        against = f"the snapshots in {args.snapshots}"
    text, code = compare(old, new, regions, against=against)
    print(text)
    if args.report:
        args.report.write_text(f"## Template diff ({', '.join(environments)})\n\n```\n{text}\n```\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
