"""`make diff`: synthesize every environment, compare each stack with its committed snapshot, report by risk.

Exit 0 when nothing would replace or delete a stateful resource (and "no changes" when the
templates equal the snapshots), 1 when something would, 2 when it could not compare.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def _stderr_held() -> Iterator[io.BytesIO]:
    """What the synths print to stderr, held back: jsii relays Node's console to `sys.stderr`
    (its buffer) as it comes, so each variant's warnings would otherwise print again, above the
    report. Restored on the way out, whatever happens."""
    held, real = io.BytesIO(), sys.stderr
    wrapper = io.TextIOWrapper(held, encoding="utf-8", errors="replace", write_through=True)
    sys.stderr = wrapper
    try:
        yield held
    finally:
        sys.stderr = real
        wrapper.detach()  # else closing the wrapper would close what it held


def warnings_once(printed: str) -> list[str]:
    """The synths' warnings, each once in the order first printed: a warning is its first line and
    the indented lines under it (the stack, how to acknowledge it); where each synth wrote its
    validation report, and blank lines, are left out."""
    blocks: list[list[str]] = []
    for line in printed.splitlines():
        if not line.strip() or line.startswith("A copy of this report can be found in:"):
            continue
        if line.startswith((" ", "\t")) and blocks:
            blocks[-1].append(line)
        else:
            blocks.append([line])
    return list(dict.fromkeys("\n".join(block) for block in blocks))


def _print_warnings(printed: str, *, verbose: bool) -> None:
    if verbose:
        print(printed, end="", file=sys.stderr)
        return
    found = warnings_once(printed)
    if found:
        total = len(re.findall(r"^(?:WARNING|\[WARNING\])", printed, flags=re.MULTILINE))
        print(f"\nThe synths' warnings, each once ({len(found)}; {total} as printed; --verbose for every line):", file=sys.stderr)
        print("\n".join(found), file=sys.stderr)


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
    parser.add_argument("--verbose", action="store_true", help="print the synths' output as it came, every variant's warnings")
    args = parser.parse_args(argv)
    environments = args.env or available_environments()
    with _stderr_held() as held:
        code = _run(args, environments)
    # A failure prints everything held, its own one line last.
    _print_warnings(held.getvalue().decode("utf-8", "replace"), verbose=args.verbose or code == 2)
    return code


def _run(args: argparse.Namespace, environments: list[str]) -> int:
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
        if args.base:
            against = f"the snapshots at {args.base}"
        elif args.snapshots == ROOT / SNAPSHOTS:
            against = "the working tree's snapshots"
            old, against = _merge_base_if_unchanged(old, new, prefixes, against)
        else:
            against = f"the snapshots in {args.snapshots}"
    except (ConfigError, ValueError, OSError, subprocess.CalledProcessError) as exc:
        print(f"error: make diff: {exc}", file=sys.stderr)
        return 2
    text, code = compare(old, new, regions, against=against)
    print(text)
    if args.report:
        args.report.write_text(f"## Template diff ({', '.join(environments)})\n\n```\n{text}\n```\n")
    return code


def _merge_base_if_unchanged(
    old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]], prefixes: tuple[str, ...], against: str
) -> tuple[dict[str, dict[str, Any]], str]:
    """After `make snapshots`, the working tree's snapshots equal the synth and show nothing: then
    compare with the snapshots where this branch left `main` (on `main`, the last commit), which
    is what a reviewer of the change wants to see."""
    hint = "BASE=<git ref> compares with another revision's"
    if old != new:
        return old, f"{against} ({hint})"
    for main in ("main", "origin/main"):
        found = subprocess.run(["git", "merge-base", "HEAD", main], cwd=ROOT, capture_output=True, text=True, check=False)
        if found.returncode == 0:
            base = found.stdout.strip()
            at_base = {name: body for name, body in _snapshots(base, SNAPSHOTS).items() if name.startswith(prefixes)}
            if at_base != old:
                return at_base, f"{main}'s merge base {base[:10]}, as the working tree's snapshots already hold the change ({hint})"
            return old, f"{against} and at {main}'s merge base {base[:10]} ({hint})"
    return old, f"{against} ({hint})"


if __name__ == "__main__":
    sys.exit(main())
