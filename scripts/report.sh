#!/usr/bin/env bash
# Set up d2oflux on a fresh machine (Python 3.11 + pip) and run the main job: the flux-normalisation
# report on the default detector (d2o-module1 at the SNS First Target Station).
# Usage: bash scripts/report.sh [extra d2oflux report options, e.g. -o my-report --years 1,2,5]
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS= . scripts/venv.sh
d2oflux report "$@"
