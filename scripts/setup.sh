#!/usr/bin/env bash
# Installs what the integration specs need: Debian's prosody, ejabberd and python3-slixmpp.
# Idempotent: a package is installed only when `dpkg -s` says it is missing, and `apt-get update`
# runs only then. Never starts a system-wide server: while installing, a temporary
# /usr/sbin/policy-rc.d (exit 101) stops the packages' postinst from starting their services
# (only when no policy-rc.d exists yet; an existing one is left as it is). A system instance that
# was already running is left alone; the test lab starts its own private instances.
set -euo pipefail

# iproute2: `ss -K` (the reset method); lua5.4: specs read back the Lua literals sent to Prosody's admin socket
PACKAGES=(prosody ejabberd python3-slixmpp iproute2 lua5.4)

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: ERROR: %s\n' "$*" >&2; exit 1; }

missing=()
for pkg in "${PACKAGES[@]}"; do
  if dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed'; then
    say "$pkg already installed"
  else
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  say "nothing to install"
  exit 0
fi

command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install ${missing[*]} by hand (Debian/Ubuntu packages)"

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || die "not root and sudo not found; run as root or install ${missing[*]} by hand"
  SUDO=(sudo -n)
  "${SUDO[@]}" true 2>/dev/null || die "sudo needs a password; run 'sudo bash scripts/setup.sh' once, or install ${missing[*]} by hand"
fi
as_root() { "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive "$@"; }

POLICY=/usr/sbin/policy-rc.d
own_policy=0
cleanup() {
  if [ "$own_policy" -eq 1 ]; then
    as_root rm -f "$POLICY" && say "removed temporary $POLICY"
  fi
}
trap cleanup EXIT
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\n# temporary, from cxfr scripts/setup.sh: do not start services during install\nexit 101\n' \
    | as_root tee "$POLICY" >/dev/null
  as_root chmod 755 "$POLICY"
  own_policy=1
  say "installed temporary $POLICY so no system service is started"
fi

say "apt-get update"
as_root apt-get update -qq || die "apt-get update failed"

say "installing ${missing[*]}"
as_root apt-get install -y -qq -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" \
  || die "apt-get install ${missing[*]} failed"

for pkg in "${missing[@]}"; do
  dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed' || die "$pkg is still not installed"
  say "$pkg installed"
done
command -v prosody >/dev/null 2>&1 || die "prosody binary not found after install"
[ -x /usr/sbin/ejabberdctl ] || die "/usr/sbin/ejabberdctl not found after install"
say "done"
