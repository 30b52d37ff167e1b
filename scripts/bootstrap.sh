#!/usr/bin/env bash
# Create .venv and install millionscale with its extras, idempotently.
# Works on a fresh Debian machine with only Python 3.11: when the interpreter
# lacks venv/ensurepip (Debian splits them into python3-venv) and we are root,
# install that package first. Quiet when everything is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.installed

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "error: millionscale needs Python >= 3.11, $PYTHON is $("$PYTHON" -V 2>&1)" >&2
  exit 2
fi

if [ ! -x "$VENV/bin/python" ]; then
  if ! "$PYTHON" -m venv "$VENV" >/dev/null 2>&1; then
    rm -rf "$VENV"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      minor=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq --no-install-recommends "python$minor-venv" >/dev/null \
        || apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
      "$PYTHON" -m venv "$VENV"
    else
      echo "error: '$PYTHON -m venv' failed; install your distribution's venv package (python3-venv)" >&2
      exit 2
    fi
  fi
fi

if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
  log=$(mktemp)
  if ! "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e '.[dev,fast]' >"$log" 2>&1; then
    grep -v "is ignored: it is neither a file nor a directory" "$log" >&2 || true
    rm -f "$log"
    echo "error: installing millionscale into $VENV failed (output above)" >&2
    exit 2
  fi
  rm -f "$log"
  touch "$STAMP"
fi
