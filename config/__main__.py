"""`python -m config ENVIRONMENT`: check one environment's file before anything acts on it (`make
synth` runs it first, so a wrong name or value is one line and the last synthesis is kept)."""

import sys

from config import ConfigError, load_environment

if len(sys.argv) != 2:
    sys.exit("usage: python -m config ENVIRONMENT")
try:
    load_environment(sys.argv[1])
except ConfigError as exc:
    sys.exit(f"error: {exc}")
