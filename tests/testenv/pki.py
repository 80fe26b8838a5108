"""Fresh PKI, token-file users and kubeconfigs for one control-plane run (testenv.md §5)."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SA_USER = "system:serviceaccount:vpsie-system:vpsie-autoscaler"
SA_GROUPS = ("system:serviceaccounts", "system:serviceaccounts:vpsie-system")
USERS: dict[str, tuple[str, tuple[str, ...]]] = {
    # short name -> (user name, groups)
    "admin": ("admin", ("system:masters",)),
    "sa": (SA_USER, SA_GROUPS),
    "nobody": ("nobody", ()),
}
SERVING_SANS_DNS = (
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)
SERVING_SANS_IP = ("127.0.0.1", "10.0.0.1")


@dataclass(frozen=True)
class Pki:
    """Paths of the generated key material."""

    ca_crt: Path
    apiserver_crt: Path
    apiserver_key: Path
    sa_key: Path
    sa_pub: Path


def _pem_key(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    path.chmod(0o600)
    return path


def make_pki(directory: Path) -> Pki:
    """Create a self-signed CA, the apiserver serving certificate and the SA key pair."""
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    start, end = now - dt.timedelta(hours=1), now + dt.timedelta(days=2)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "testenv-ca")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in SERVING_SANS_DNS]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in SERVING_SANS_IP]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = serialization.Encoding.PEM
    return Pki(
        ca_crt=_write(directory / "ca.crt", ca_cert.public_bytes(pem)),
        apiserver_crt=_write(directory / "apiserver.crt", cert.public_bytes(pem)),
        apiserver_key=_write(directory / "apiserver.key", _pem_key(key)),
        sa_key=_write(directory / "sa.key", _pem_key(sa_key)),
        sa_pub=_write(
            directory / "sa.pub",
            sa_key.public_key().public_bytes(pem, serialization.PublicFormat.SubjectPublicKeyInfo),
        ),
    )


def make_tokens(path: Path) -> dict[str, str]:
    """Write ``tokens.csv`` with a fresh random token per user; return short name -> token."""
    tokens = {short: secrets.token_urlsafe(24) for short in USERS}
    lines = []
    for short, (user, groups) in USERS.items():
        line = f"{tokens[short]},{user},uid-{short}"
        if groups:
            line += ',"' + ",".join(groups) + '"'
        lines.append(line)
    _write(path, ("\n".join(lines) + "\n").encode())
    return tokens


def write_kubeconfig(path: Path, *, server: str, ca_crt: Path, user: str, token: str) -> Path:
    """Write a kubeconfig (JSON is valid YAML) with the CA inline and a bearer token."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "testenv",
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(ca_crt.read_bytes()).decode(),
                },
            }
        ],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": "testenv", "context": {"cluster": "testenv", "user": user}}],
        "current-context": "testenv",
        "preferences": {},
    }
    return _write(path, json.dumps(config, indent=2).encode())
