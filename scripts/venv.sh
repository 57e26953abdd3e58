#!/usr/bin/env bash
# Sourced by report.sh and test.sh: create .venv with Python >= 3.11 if needed, activate it, install d2oflux
# with the extras named in $EXTRAS (e.g. EXTRAS=test; empty for none).
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
if [ -n "${EXTRAS:-}" ]; then
  python -m pip install --quiet -e ".[$EXTRAS]"
else
  python -m pip install --quiet -e .
fi
