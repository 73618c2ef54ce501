"""deploy/nginx/store-console.conf made runnable on a test machine: this run's ports, a throw-away certificate,
and a main nginx.conf whose files are all under one folder (no root needed)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "deploy" / "nginx" / "store-console.conf"


def certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "console.pem", directory / "console.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def site(tmp: Path, daphne_port: int, https_port: int, http_port: int) -> str:
    """deploy/nginx/store-console.conf as shipped, with this machine's ports, certificate and folders."""
    cert, key = certificate(tmp)
    text = SITE.read_text()
    replacements = {
        "server 127.0.0.1:8001;\n    server 127.0.0.1:8002;": f"server 127.0.0.1:{daphne_port};",
        "server 127.0.0.1:8003;": f"server 127.0.0.1:{daphne_port};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "/etc/ssl/certs/console.example.com.pem": str(cert),
        "/etc/ssl/private/console.example.com.key": str(key),
        "/var/lib/store-console/static/": str(tmp) + "/",
    }
    for old, new in replacements.items():
        assert old in text, f"deploy/nginx/store-console.conf no longer has {old!r}: update this test"
        text = text.replace(old, new)
    return text


def main_conf(tmp: Path) -> str:
    """An nginx.conf that includes `tmp`/site.conf and keeps its pid, logs and temporary files in `tmp`."""
    return f"""
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 128; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/site.conf;
}}
"""
