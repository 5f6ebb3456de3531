"""The operations manual's procedures as code, behind `scripts/deploy.sh` (`python -m runbook`)."""
