#!/usr/bin/env python3
"""Builds each fuzz target's seed corpus (fuzz/corpus/TARGET/) from the project's own test
inputs: string literals of the test suites and docs that are resources, configs, role maps,
templates, label selectors, control messages, request bodies, durations; and certificates made
the way the tests make them (ssh-keygen, openssl). Run from the repository root:

    python3 fuzz/seeds.py
"""
import glob
import hashlib
import os
import re
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fuzz", "corpus")

# Rust string literals: "..." with escapes, and r"..." / r#"..."# raw strings.
PLAIN = re.compile(r'(?<![A-Za-z0-9_#])"((?:[^"\\]|\\.)*)"', re.S)
RAW = re.compile(r'r(#*)"(.*?)"\1', re.S)


def unescape(text):
    text = re.sub(r"\\\n\s*", "", text)  # line continuations
    out, i = [], 0
    simple = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "'": "'"}
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt in simple:
                out.append(simple[nxt])
                i += 2
                continue
            m = re.match(r"u\{([0-9a-fA-F]+)\}", text[i + 1:])
            if m:
                out.append(chr(int(m.group(1), 16)))
                i += 2 + len(m.group(0)) - 1
                continue
        out.append(c)
        i += 1
    return "".join(out)


def literals(paths):
    for path in paths:
        src = open(path, encoding="utf-8").read()
        for m in RAW.finditer(src):
            yield m.group(2)
        for m in PLAIN.finditer(src):
            yield unescape(m.group(1))


def rust(*patterns):
    return [p for pattern in patterns for p in glob.glob(os.path.join(ROOT, pattern), recursive=True)]


def save(target, data):
    if isinstance(data, str):
        data = data.encode()
    if not data:
        return
    folder = os.path.join(OUT, target)
    os.makedirs(folder, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


TESTS = rust("shared/tests/*.rs", "shared/src/**/*.rs", "tests/src/*.rs", "tests/tests/*.rs", "server/src/config/*.rs",
             "auth/src/**/*.rs", "web/src/*.rs", "edge/src/*.rs")
ALL = list(literals(TESTS))

for text in ALL:
    if "kind:" in text or text.lstrip().startswith('{"kind"') or text.lstrip().startswith('[{"kind"'):
        save("resources", text)
    if "auth_service:" in text or "proxy_service:" in text or "teleport:" in text or "ssh_service:" in text:
        save("config", text)
    if "remote:" in text and "local:" in text:
        rules = text[text.index("- remote:"):] if "- remote:" in text else text
        save("role_map", "access,dev-web\n" + re.sub(r"(?m)^ {2,4}(?=- remote|  local)", "", rules))
    for template in re.findall(r"[^\s\"'`]*\{\{.*?\}\}[^\s\"'`]*", text):
        save("template", template)
    if text.startswith('{"type":'):
        save("tunnel_control", text + "\n")
    if text.startswith("{") and '"' in text and "kind" not in text:
        save("web_bodies", text)
    if re.fullmatch(r"[0-9][0-9a-zµ.]*", text) or re.fullmatch(r"\d+:\d+:\d+", text):
        save("limits", text)
    if re.fullmatch(r"[\w.*^$-]+=[^,\s]*(,[\w.*^$-]+=[^,\s]*)*", text):
        save("labels", text + "\n")

save("config", open(os.path.join(ROOT, "server/src/config/sample.yaml")).read())
for line in open(os.path.join(ROOT, "docs/roles.md"), encoding="utf-8"):
    for value in re.findall(r"`([^`]*\{\{[^`]*)`", line):
        save("template", value)
for labels, selectors in [
    ("env=prod,team=web", "env: [prod]\n"),
    ("env=staging-eu", "env: ['env-*-staging', '^staging-(eu|us)$']\n"),
    ("team=web", "'{{external.team}}': ['*']\n"),
    ("a=b", "'*': '*'\n"),
    ("env=prod", "env: []\n"),
]:
    save("labels", labels + "\n" + selectors)
for rules in [
    "- remote: access\n  local: [visitor]\n",
    "- remote: '^dev-(.*)$'\n  local: [dev-$1]\n- remote: '*'\n  local: [guest]\n",
    "- remote: 'admin*'\n  local: [ops, '$1']\n",
]:
    save("role_map", "access,dev-web,admin-x\n" + rules)
for line in ['{"type":"heartbeat","version":"1"}', '{"type":"hello","proxy_id":"p","proxies":[],"version":"1"}']:
    save("tunnel_control", line + "\n")
# Flow frames as the flow layer's unit tests write them: a chunk size byte, then frames.
import struct
for cut, payload in [(0, b"hello"), (2, b"abc"), (255, b"x" * 300)]:
    wire = struct.pack(">I", len(payload)) + payload + struct.pack(">I", 0x80000000 | 1234) + struct.pack(">I", 0)
    save("tunnel_flow", bytes([cut]) + wire)
for body in ['{"user":"alice","password":"pw","public_key":"ssh-ed25519 AAAA"}',
             '{"type":"node","ttl_secs":600}', '{"remote_roles":["access"],"role_map":[]}']:
    save("web_bodies", body)
for value in ["30s", "1h30m", "250ms", "0s", "10:30:100", "64", "1.5h", "-1s"]:
    save("limits", value)

# Certificates made as the tests make them.
with tempfile.TemporaryDirectory() as tmp:
    def run(*args):
        subprocess.run(args, cwd=tmp, check=True, capture_output=True)
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", "ca")
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", "user")
    run("ssh-keygen", "-q", "-s", "ca", "-I", "alice", "-n", "alice,root", "-V", "+1h", "user.pub")
    run("ssh-keygen", "-q", "-s", "ca", "-I", "node", "-h", "-n", "node.example.com", "-V", "+1h", "user.pub")
    cert = open(os.path.join(tmp, "user-cert.pub")).read()
    save("ssh_cert", cert)
    import base64
    save("ssh_cert", base64.b64decode(cert.split()[1]))
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
        "-subj", "/CN=alice/O=root.example.com", "-keyout", "k.pem", "-out", "c.pem",
        "-addext", "extendedKeyUsage=clientAuth", "-addext", "1.3.6.1.4.1.32473.7.1=ASN1:UTF8String:{\"user\":\"alice\"}")
    pem = open(os.path.join(tmp, "c.pem")).read()
    save("tls_identity", pem)
    run("openssl", "x509", "-in", "c.pem", "-outform", "DER", "-out", "c.der")
    save("tls_identity", open(os.path.join(tmp, "c.der"), "rb").read())

# SFTP sessions, as a client sends them (the fuzz target serves them in SFTP_WORK, so the paths
# here mean the same there). Handles are the server's: "1", "2", ... in the order of opening.
SFTP_WORK = "/dev/shm/tether-fuzz-sftp/w"


def sftp_packets(requests):
    def string(b):
        b = b.encode() if isinstance(b, str) else b
        return struct.pack(">I", len(b)) + b

    def attrs(size=None, mode=None, times=None, owner=None):
        flags, body = 0, b""
        if size is not None:
            flags, body = flags | 1, body + struct.pack(">Q", size)
        if owner is not None:
            flags, body = flags | 2, body + struct.pack(">II", *owner)
        if mode is not None:
            flags, body = flags | 4, body + struct.pack(">I", mode)
        if times is not None:
            flags, body = flags | 8, body + struct.pack(">II", *times)
        return struct.pack(">I", flags) + body

    out = b""
    for i, (kind, *args) in enumerate(requests):
        rid = struct.pack(">I", i + 1)
        body = {
            "init": lambda: bytes([1]) + struct.pack(">I", 3),
            "open": lambda: bytes([3]) + rid + string(args[0]) + struct.pack(">I", args[1]) + attrs(mode=0o644),
            "close": lambda: bytes([4]) + rid + string(args[0]),
            "read": lambda: bytes([5]) + rid + string(args[0]) + struct.pack(">QI", args[1], args[2]),
            "write": lambda: bytes([6]) + rid + string(args[0]) + struct.pack(">Q", args[1]) + string(args[2]),
            "lstat": lambda: bytes([7]) + rid + string(args[0]),
            "fstat": lambda: bytes([8]) + rid + string(args[0]),
            "setstat": lambda: bytes([9]) + rid + string(args[0]) + attrs(**args[1]),
            "fsetstat": lambda: bytes([10]) + rid + string(args[0]) + attrs(**args[1]),
            "opendir": lambda: bytes([11]) + rid + string(args[0]),
            "readdir": lambda: bytes([12]) + rid + string(args[0]),
            "remove": lambda: bytes([13]) + rid + string(args[0]),
            "mkdir": lambda: bytes([14]) + rid + string(args[0]) + attrs(mode=0o755),
            "rmdir": lambda: bytes([15]) + rid + string(args[0]),
            "realpath": lambda: bytes([16]) + rid + string(args[0]),
            "stat": lambda: bytes([17]) + rid + string(args[0]),
            "rename": lambda: bytes([18]) + rid + string(args[0]) + string(args[1]),
            "readlink": lambda: bytes([19]) + rid + string(args[0]),
            "symlink": lambda: bytes([20]) + rid + string(args[0]) + string(args[1]),
            "extended": lambda: bytes([200]) + rid + string(args[0]) + b"".join(string(a) for a in args[1:]),
        }[kind]()
        out += struct.pack(">I", len(body)) + body
    return out


READ, WRITE, APPEND, CREAT, TRUNC, EXCL = 1, 2, 4, 8, 0x10, 0x20
for session in [
    [("init",), ("realpath", "."), ("extended", "limits@openssh.com"), ("extended", "expand-path@openssh.com", "~/x"),
     ("open", "f", WRITE | CREAT | TRUNC), ("write", "1", 0, "hello\n"), ("extended", "fsync@openssh.com", "1"),
     ("fsetstat", "1", {"mode": 0o600, "times": (1, 2)}), ("fstat", "1"), ("close", "1"),
     ("open", SFTP_WORK + "/f", READ), ("read", "2", 0, 32768), ("read", "2", 6, 32768), ("close", "2")],
    [("init",), ("mkdir", "d"), ("open", "d/a", WRITE | CREAT | EXCL), ("close", "1"), ("opendir", "d"),
     ("readdir", "2"), ("readdir", "2"), ("close", "2"), ("rename", "d/a", "d/b"), ("symlink", "d/b", "d/l"),
     ("readlink", "d/l"), ("lstat", "d/l"), ("stat", "d/l"), ("setstat", "d/b", {"size": 3, "mode": 0o640}),
     ("extended", "posix-rename@openssh.com", "d/b", "d/c"), ("remove", "d/c"), ("remove", "d/l"), ("rmdir", "d")],
    [("init",), ("open", "g", WRITE | CREAT | APPEND), ("write", "1", 0, "x" * 100), ("write", "1", 1 << 20, "y"),
     ("setstat", "g", {"owner": (65534, 65534)}), ("close", "1"), ("close", "1"), ("read", "9", 0, 1),
     ("opendir", "g"), ("open", "..", READ), ("realpath", "../../.."), ("stat", "")],
]:
    save("sftp", sftp_packets(session))

# And what OpenSSH's own sftp client sends, when a tether binary is built (its sftp-server).
tether = next((p for p in [os.path.join(ROOT, "target", d, "tether") for d in ("release", "debug")]
               if os.path.exists(p)), None)
if tether and subprocess.run(["which", "sftp"], capture_output=True).returncode == 0:
    import shutil
    shutil.rmtree(os.path.dirname(SFTP_WORK), ignore_errors=True)
    os.makedirs(SFTP_WORK)
    with tempfile.TemporaryDirectory() as tmp:
        capture, server = os.path.join(tmp, "capture"), os.path.join(tmp, "server")
        with open(server, "w") as f:
            f.write(f"#!/bin/sh\ncd {SFTP_WORK}\nexport HOME={SFTP_WORK}\ntee {capture} | {tether} sftp-server 2>/dev/null\n")
        os.chmod(server, 0o755)
        with open(os.path.join(tmp, "local"), "w") as f:
            f.write("some bytes\n" * 1000)
        batch = os.path.join(tmp, "batch")
        with open(batch, "w") as f:
            f.write(f"mkdir d\ncd d\nput {tmp}/local f\nls -la\nget f {tmp}/back\nrename f g\n"
                    "ln -s g l\nchmod 600 g\nreput " + tmp + "/local g\n-rm nothere\nrm g\nrm l\ncd ..\nrmdir d\n")
        subprocess.run(["sftp", "-q", "-b", batch, "-D", server], cwd=tmp, capture_output=True, timeout=30)
        if os.path.exists(capture):
            save("sftp", open(capture, "rb").read())
    shutil.rmtree(os.path.dirname(SFTP_WORK), ignore_errors=True)

for target in sorted(os.listdir(OUT)):
    print(f"{target}: {len(os.listdir(os.path.join(OUT, target)))} seeds")
