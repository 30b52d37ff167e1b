"""The CDN's peers, started the way its benchmarks and conformance tests run them.

Varnish 7.1 and nginx 1.22 (Debian's packages, ``python -m
millionscale.servers.install --peers``), each configured as what a user would
write for "a shared cache that honours the origin's headers", on a free
loopback port, in a throwaway directory, in the foreground, stopped by pid.

**Varnish** (:data:`VARNISH_VCL`): the builtin VCL (it passes requests with
``Authorization`` or ``Cookie``, does not store ``Set-Cookie``, ``no-cache``,
``no-store``, ``private`` or ``Vary: *`` responses, and takes freshness from
``s-maxage``, ``max-age``, ``Expires`` and the ``Age`` received), plus RFC 5861
``stale-if-error`` the only way open-source Varnish 7.1 has it: as grace (the
stale object is served while a background fetch runs; a background fetch that
gets a 5xx is abandoned, which keeps the stale object). Varnish already reads
``stale-while-revalidate`` into grace itself. One parameter differs from
Varnish's defaults: ``default_grace=0s``, since the default 10 s of grace
serves every response stale for 10 s without the origin's permission (RFC 9111
§4.2.4); ``default_ttl`` stays at 120 s (its heuristic lifetime). It runs with
``-j none`` (no privilege-separation jail: as root the default jail would
switch to the ``varnish``/``vcache`` users, which cannot read a test's
temporary directory).

**nginx** (:data:`NGINX_CACHE_CONF`): ``proxy_cache`` with
``proxy_cache_revalidate on`` (conditional revalidation), ``proxy_cache_lock
on`` (one fetch per key), ``proxy_cache_background_update on`` and
``proxy_cache_use_stale error timeout updating http_500 http_502 http_503
http_504`` (stale on error and while updating), no ``proxy_cache_valid``
(freshness from the origin's headers only), the cache key
``$scheme$host$request_uri``, HTTP/1.1 to the origin.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from millionscale.errors import ServerStartError
from millionscale.servers import free_port
from millionscale.servers.install import peer_program
from millionscale.servers.process import log_tail, spawn, terminate

__all__ = [
    "NGINX_CACHE_CONF",
    "VARNISH_PARAMETERS",
    "VARNISH_VCL",
    "Peer",
    "start_edge",
    "start_nginx_cache",
    "start_varnish",
]

READY_TIMEOUT_S = 20.0
STORAGE = "malloc,256m"  # as the edge's default --memory 256MiB

VARNISH_VCL = """vcl 4.1;
import std;

backend origin {{
    .host = "{host}";
    .port = "{port}";
    .connect_timeout = 2s;        # as our edge's origin client
    .first_byte_timeout = 10s;
    .between_bytes_timeout = 10s;
}}

sub vcl_backend_response {{
    # RFC 5861 section 4 stale-if-error, as grace: Varnish 7.1 reads only
    # stale-while-revalidate (into beresp.grace); take the longer of the two.
    if (beresp.http.Cache-Control ~ "(?i)stale-if-error=[0-9]+") {{
        if (std.duration(regsub(beresp.http.Cache-Control,
                "(?i)^.*stale-if-error=([0-9]+).*$", "\\1s"), 0s) > beresp.grace) {{
            set beresp.grace = std.duration(regsub(beresp.http.Cache-Control,
                "(?i)^.*stale-if-error=([0-9]+).*$", "\\1s"), 0s);
        }}
    }}
    # A background refresh that fails keeps the stale object in grace.
    if (bereq.is_bgfetch && beresp.status >= 500) {{
        return (abandon);
    }}
}}
"""
VARNISH_PARAMETERS = ("default_grace=0s",)

NGINX_CACHE_CONF = """
daemon off;
master_process on;
{user}
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    keepalive_requests 1000000;
    proxy_cache_path {root}/cache levels=1:2 keys_zone=edge:16m max_size=256m inactive=1d use_temp_path=off;
    upstream origin {{
        server {host}:{port};
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{listen};
        location / {{
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_cache edge;
            proxy_cache_key $scheme$host$request_uri;
            proxy_cache_revalidate on;
            proxy_cache_lock on;
            proxy_cache_background_update on;
            proxy_cache_use_stale error timeout updating http_500 http_502 http_503 http_504;
            proxy_connect_timeout 2s;
            proxy_read_timeout 10s;
        }}
    }}
}}
"""


@dataclass
class Peer:
    """A running peer cache: its name, URL and process (stop it with :meth:`stop`)."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    workdir: Path
    argv: list[str] = field(default_factory=list)
    admin: str = ""  # our edge's admin API (http://HOST:PORT); a peer's has none here

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def port(self) -> int:
        """The port of :attr:`url`, where it serves clients."""
        return int(self.url.rsplit(":", 1)[1])

    def stop(self) -> None:
        terminate(self.process, timeout=5)

    def wait_ready(self, path: str = "/ready", timeout: float = READY_TIMEOUT_S) -> None:
        """Until ``GET path`` through it answers 200 (the origin must be up)."""
        deadline = time.monotonic() + timeout
        last = "nothing yet"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                answer = httpx.get(f"{self.url}{path}", timeout=1.0)
                if answer.status_code == 200:
                    return
                last = f"status {answer.status_code}"
            except httpx.TransportError as error:
                last = f"{type(error).__name__}: {error}"
            time.sleep(0.1)
        self.stop()
        raise ServerStartError(
            f"{self.name} did not answer at {self.url}{path}: last saw {last}",
            hint=f"read {self.log}",
            log_tail=log_tail(self.log),
        )


def start_varnish(
    origin_host: str,
    origin_port: int,
    workdir: Path,
    *,
    cpus: Sequence[int] | None = None,
    port: int | None = None,
    extra_parameters: Sequence[str] = (),
) -> Peer:
    """varnishd in the foreground on a free port (not yet ready: :meth:`Peer.wait_ready`)."""
    varnishd = peer_program("varnishd")
    workdir.mkdir(parents=True, exist_ok=True)
    vcl = workdir / "default.vcl"
    vcl.write_text(VARNISH_VCL.format(host=origin_host, port=origin_port))
    listen = port or free_port()
    argv = [varnishd, "-F", "-j", "none", "-a", f"127.0.0.1:{listen}", "-f", str(vcl),
            "-n", str(workdir / "varnish"), "-s", STORAGE, "-T", "none"]  # fmt: skip
    for parameter in (*VARNISH_PARAMETERS, *extra_parameters):
        argv += ["-p", parameter]
    log = workdir / "varnishd.log"
    process = spawn(argv, log_path=log, cpus=cpus)
    return Peer("Varnish 7.1", f"http://127.0.0.1:{listen}", process, log, workdir, argv)


def start_nginx_cache(
    origin_host: str,
    origin_port: int,
    workdir: Path,
    *,
    cpus: Sequence[int] | None = None,
    port: int | None = None,
) -> Peer:
    """nginx with proxy_cache in the foreground on a free port (not yet ready)."""
    nginx = peer_program("nginx")
    workdir.mkdir(parents=True, exist_ok=True)
    listen = port or free_port()
    conf = workdir / "nginx.conf"
    # As root, nginx's workers would run as nobody, who cannot reach a cache directory
    # inside a caller's private temporary directory: they stay the caller's user instead.
    user = "user root;" if os.geteuid() == 0 else ""
    conf.write_text(
        NGINX_CACHE_CONF.format(
            root=workdir, host=origin_host, port=origin_port, listen=listen, user=user
        )
    )
    argv = [nginx, "-c", str(conf), "-p", str(workdir)]
    log = workdir / "out.log"
    process = spawn(argv, log_path=log, cpus=cpus)
    return Peer("nginx 1.22", f"http://127.0.0.1:{listen}", process, log, workdir, argv)


def start_edge(
    origin_host: str,
    origin_port: int,
    workdir: Path,
    *,
    cpus: Sequence[int] | None = None,
    port: int | None = None,
    memory: str = "256MiB",
    token: str | None = None,
    extra: Sequence[str] = (),
) -> Peer:
    """Our edge (``python -m millionscale.cdn``) with its defaults and ``memory`` (as
    Varnish's), its admin API on a free port with ``token`` (a random one if None),
    and ``extra`` flags (``--name``, ``--purge-feed``, ...)."""
    workdir.mkdir(parents=True, exist_ok=True)
    listen, admin = port or free_port(), free_port()
    argv = [sys.executable, "-m", "millionscale.cdn", "--host", "127.0.0.1", "--port", str(listen),
            "--admin-port", str(admin), "--origin", f"http://{origin_host}:{origin_port}",
            "--memory", memory, *extra]  # fmt: skip
    log = workdir / "edge.log"
    env = {**os.environ, "CDN_ADMIN_TOKEN": token or secrets.token_hex(16)}
    process = spawn(argv, log_path=log, cpus=cpus, env=env)
    url = f"http://127.0.0.1:{listen}"
    return Peer("ours", url, process, log, workdir, argv, admin=f"http://127.0.0.1:{admin}")
