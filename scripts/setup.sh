#!/usr/bin/env bash
# Installs what Passerelle's demo and tests need on a Debian machine, idempotently:
#   - npm packages pinned by package-lock.json (DSFR assets, communes list, browser-test tools), cached in the
#     checkout: reinstalled only when package-lock.json changes;
#   - with --test: Debian's chromium (browser tests), clamav-daemon (antivirus), poppler-utils (PDF text).
set -euo pipefail
cd "$(dirname "$0")/.."

stamp=node_modules/.passerelle-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "==> npm ci (DSFR, communes, outils de test)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi

# Build dependency of the demo and the tests: Web Push encryption (the `web-push` crate's `ece` backend) links
# OpenSSL.
if ! dpkg -s libssl-dev >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "Paquet Debian manquant : libssl-dev (installez-le avec sudo apt-get install libssl-dev pkg-config)" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libssl-dev pkg-config >/dev/null
fi

if [ "${1:-}" = "--test" ]; then
  missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  command -v clamd >/dev/null 2>&1 || missing+=(clamav-daemon clamav)
  command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "==> apt-get install ${missing[*]}"
    if [ "$(id -u)" -ne 0 ]; then
      echo "Paquets Debian manquants : ${missing[*]} (installez-les avec sudo apt-get install ${missing[*]})" >&2
      exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi
