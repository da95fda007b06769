#!/bin/sh
# Fails if the shared library exports any symbol that is not mp_*.
set -eu
lib=$1
bad=$(nm -D --defined-only "$lib" | awk '$2 ~ /[TDBRVW]/ {print $3}' | grep -v '^mp_' || true)
if [ -n "$bad" ]; then
  echo "not mp_*: $bad"
  exit 1
fi
count=$(nm -D --defined-only "$lib" | awk '$2 ~ /[TDBRVW]/ {print $3}' | grep -c '^mp_')
echo "ok: $count mp_* symbols exported, nothing else"
