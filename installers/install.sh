#!/bin/sh
# Installs the Tether agent on Linux or macOS as a service and enrolls this machine:
#
#   curl -fsSL https://tether.example.com:8443/install.sh | sudo sh -s -- --connect-key tck_...
#
# (`tetherctl install-command` prints this line for your control plane, pinned to its certificate.)
#
# Options: --connect-key KEY (or the CONNECT_KEY environment variable), --display-name NAME,
# --group NAME (repeatable), --server-url URL. Any other argument, and everything after "--", goes to
# `tether-agent install` as it is (docs/service.md).
#
# The control plane fills in the values below for each download: its address, its CA certificate when
# it has its own CA (the downloads then trust that CA and nothing else), and the SHA-256 of each agent
# binary, which this script checks before it runs anything. All the work is in main(), called on the
# last line, so a download cut short runs nothing.

TETHER_URL=''
TETHER_CA=''
TETHER_SHA256_LINUX_X64=''
TETHER_SHA256_LINUX_ARM64=''
TETHER_SHA256_DARWIN_X64=''
TETHER_SHA256_DARWIN_ARM64=''

set -eu

say() {
  printf 'tether install: %s\n' "$*" >&2
}

die() {
  say "$*"
  exit 1
}

usage_error() {
  say "$*"
  exit 2
}

# Exits unless $1 looks like a connect key: tck_ and base64url. The key itself is never printed.
check_connect_key() {
  [ -n "$1" ] || usage_error "give a connect key: --connect-key KEY (or CONNECT_KEY=KEY); tetherctl connect-keys create makes one"
  case $1 in
    tck_*) ;;
    *) usage_error "that is not a connect key: a connect key starts with tck_; check that it was copied whole" ;;
  esac
  case ${1#tck_} in
    '' | *[!ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-]*)
      usage_error "that is not a connect key: after tck_ it may hold only letters, digits, _ and -; check that it was copied whole"
      ;;
  esac
}

# download URL FILE, with curl or else wget, trusting only the control plane's CA when it has one.
download() {
  if command -v curl >/dev/null 2>&1; then
    if [ -n "$TETHER_CA" ]; then
      curl -fsS --proto =https --cacert "$tmp/ca.pem" -o "$2" "$1"
    else
      curl -fsS --proto =https -o "$2" "$1"
    fi
  elif command -v wget >/dev/null 2>&1; then
    if [ -n "$TETHER_CA" ]; then
      wget -q --ca-certificate="$tmp/ca.pem" -O "$2" "$1"
    else
      wget -q -O "$2" "$1"
    fi
  else
    die "this needs curl or wget to download the agent"
  fi
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d ' ' -f 1
  else
    shasum -a 256 "$1" | cut -d ' ' -f 1
  fi
}

main() {
  [ -n "$TETHER_URL" ] || die "download this script from your Tether control plane: https://HOST:PORT/install.sh"

  # Options for this script are taken out; the rest is kept, in order, for tether-agent install.
  key=${CONNECT_KEY:-}
  left=$#
  while [ "$left" -gt 0 ]; do
    arg=$1
    shift
    left=$((left - 1))
    case $arg in
      --)
        while [ "$left" -gt 0 ]; do
          set -- "$@" "$1"
          shift
          left=$((left - 1))
        done
        ;;
      --connect-key | --display-name | --group | --server-url)
        [ "$left" -gt 0 ] || usage_error "$arg needs a value"
        value=$1
        shift
        left=$((left - 1))
        if [ "$arg" = --connect-key ]; then key=$value; else set -- "$@" "$arg" "$value"; fi
        ;;
      --connect-key=*) key=${arg#*=} ;;
      --display-name=* | --group=* | --server-url=*) set -- "$@" "${arg%%=*}" "${arg#*=}" ;;
      *) set -- "$@" "$arg" ;;
    esac
  done
  check_connect_key "$key"

  [ "$(id -u)" = 0 ] || die "run this as root: curl ... | sudo sh -s -- --connect-key ..."

  system=$(uname -s)
  machine=$(uname -m)
  case $system in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) die "this script installs the agent on Linux and macOS, not on $system; on Windows, use install.ps1" ;;
  esac
  case $machine in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) die "there is no Tether agent for $machine processors, only for x86_64 and arm64" ;;
  esac
  # A shell under Rosetta 2 on Apple silicon says x86_64: install the native agent.
  if [ "$os-$arch" = darwin-x64 ] && [ "$(sysctl -in sysctl.proc_translated 2>/dev/null || true)" = 1 ]; then
    arch=arm64
  fi
  case $os-$arch in
    linux-x64) expected=$TETHER_SHA256_LINUX_X64 ;;
    linux-arm64) expected=$TETHER_SHA256_LINUX_ARM64 ;;
    darwin-x64) expected=$TETHER_SHA256_DARWIN_X64 ;;
    *) expected=$TETHER_SHA256_DARWIN_ARM64 ;;
  esac
  binary=tether-agent-$os-$arch
  [ -n "$expected" ] || die "$TETHER_URL has no $binary to download (see its /downloads)"
  command -v sha256sum >/dev/null 2>&1 || command -v shasum >/dev/null 2>&1 || die "this needs sha256sum or shasum to check the download"

  tmp=$(mktemp -d "${TMPDIR:-/tmp}/tether-install.XXXXXXXX") || die "could not make a temporary directory"
  trap 'rm -rf "$tmp"' EXIT
  trap 'exit 129' HUP
  trap 'exit 130' INT
  trap 'exit 143' TERM
  if [ -n "$TETHER_CA" ]; then printf '%s\n' "$TETHER_CA" >"$tmp/ca.pem"; fi

  say "downloading $TETHER_URL/downloads/$binary"
  download "$TETHER_URL/downloads/$binary" "$tmp/tether-agent" || die "could not download $TETHER_URL/downloads/$binary"
  actual=$(sha256_of "$tmp/tether-agent")
  if [ "$actual" != "$expected" ]; then
    die "the downloaded $binary is not the one this script was made for (SHA-256 $actual, expected $expected): it changed on the server or on the way. Nothing was installed; download the script again."
  fi
  chmod 0700 "$tmp/tether-agent"

  say "installing the agent"
  status=0
  "$tmp/tether-agent" install --connect-key "$key" "$@" </dev/null || status=$?
  if [ "$status" -eq 126 ]; then
    say "could not run the agent from $tmp; if ${TMPDIR:-/tmp} does not allow programs (noexec), set TMPDIR to a directory that does"
  elif [ "$status" -ne 0 ]; then
    say "tether-agent install failed (exit status $status)"
  fi
  exit "$status"
}

main "$@"
