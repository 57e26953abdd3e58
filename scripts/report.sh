#!/usr/bin/env bash
# Set up d2oflux on a fresh machine (Python 3.11 + pip) and run the main job: the flux-normalisation
# report on the default detector (d2o-module1 at the SNS First Target Station).
# Usage: bash scripts/report.sh [extra d2oflux report options, e.g. -o my-report --years 1,2,5]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
python -m pip install --quiet -e .
d2oflux report "$@"
