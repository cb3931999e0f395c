#!/usr/bin/env bash
# Brings a machine to the point where the test suite (and `npm run bench`) can run:
# npm dependencies, a fresh build of dist/ (tests spawn `node dist/cli.js`), and the Debian
# packages the tests start for real: Dovecot (IMAP + LMTP), Chromium (report test) and openssl
# (certificates for the throwaway servers). Idempotent; when everything is present it only checks.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"

say() { printf 'prepare-test-env: %s\n' "$*"; }

# `command -v` misses /usr/sbin for ordinary users, where Debian puts dovecot.
have_command() {
  command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/local/sbin/$1" ]
}

# --- npm dependencies -------------------------------------------------------------------------
# npm writes node_modules/.package-lock.json on every install, so its age tells whether the
# installed tree predates the lock file.
if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] ||
  { [ -f package-lock.json ] && [ package-lock.json -nt node_modules/.package-lock.json ]; }; then
  if [ -f package-lock.json ]; then
    say "npm dependencies: installing with npm ci"
    npm ci --no-audit --no-fund --loglevel=error
  else
    say "npm dependencies: no package-lock.json, installing with npm install"
    npm install --no-audit --no-fund --loglevel=error
  fi
else
  say "npm dependencies: up to date"
fi

# --- build --------------------------------------------------------------------------------------
# Rebuild when dist/cli.js is missing or anything that feeds tsc is newer than it.
if [ ! -f dist/cli.js ] ||
  [ -n "$(find src tsconfig.json package.json -newer dist/cli.js -print -quit 2>/dev/null)" ]; then
  say "build: running npm run build"
  npm run --silent build
else
  say "build: dist/ is newer than src/"
fi

# --- Debian packages ----------------------------------------------------------------------------
missing_packages=()
have_command dovecot && have_command doveadm || missing_packages+=(dovecot-imapd dovecot-lmtpd)
have_command chromium || missing_packages+=(chromium)
have_command openssl || missing_packages+=(openssl)

if [ "${#missing_packages[@]}" -gt 0 ]; then
  install_command="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing_packages[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    say "missing Debian packages: ${missing_packages[*]}"
    say "run as root:  sudo sh -c '$install_command'"
    exit 1
  fi
  say "Debian packages: installing ${missing_packages[*]}"
  # The dovecot package's postinst would start the system-wide Dovecot on ports 143/993; a
  # policy-rc.d that answers 101 forbids that. Only add one when the machine has none, and take
  # ours away again however the install ends.
  policy_guard_added=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    policy_guard_added=1
  fi
  remove_policy_guard() {
    if [ "$policy_guard_added" -eq 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
  }
  trap remove_policy_guard EXIT
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing_packages[@]}" >/dev/null
  remove_policy_guard
  trap - EXIT
fi

dovecot_path="$(command -v dovecot || echo /usr/sbin/dovecot)"
say "dovecot: $("$dovecot_path" --version 2>/dev/null | head -n1) at $dovecot_path"
[ -x /usr/lib/dovecot/lmtp ] && say "dovecot lmtp: present" || say "dovecot lmtp: absent (LMTP delivery tests will be skipped)"
say "chromium: $(chromium --version 2>/dev/null | head -n1 || echo present)"
say "openssl: $(openssl version)"
