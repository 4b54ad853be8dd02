"""Local git servers for the credential-helper tests: HTTP or HTTPS (a throwaway CA-less self-signed
certificate for the names a test needs), either a real git http-backend behind basic auth or a trap that
only records the Authorization headers it is sent and always answers 401."""

import base64
import http.server
import os
import pathlib
import ssl
import subprocess
import threading

HTTP_BACKEND = "/usr/lib/git-core/git-http-backend"


def make_certificate(directory: pathlib.Path, dns_names=(), ip_addresses=()) -> tuple:
    """A self-signed certificate valid for the given names; returns (cert_path, key_path). A test trusts it
    with git's http.sslCAInfo, as a real server's certificate would be trusted through a public CA."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "server.crt", directory / "server.key"
    alt_names = ",".join([f"DNS:{name}" for name in dns_names] + [f"IP:{ip}" for ip in ip_addresses])
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "2", "-subj", "/CN=remo-test-git", "-addext", f"subjectAltName={alt_names}",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    os.chmod(cert, 0o644)
    return cert, key


class _QuietHandler(http.server.BaseHTTPRequestHandler):
    server_version = "remo-test-git/1"

    def log_message(self, *args):
        pass

    def send_401(self):
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="remo-test"')
        self.send_header("Content-Length", "0")
        self.end_headers()


class TrapHandler(_QuietHandler):
    """Records every Authorization header (the credential git sent) with the Host it was sent to."""

    def handle_any(self):
        auth = self.headers.get("Authorization")
        if auth:
            self.server.received.append((self.headers.get("Host"), auth))
        self.send_401()

    do_GET = handle_any
    do_POST = handle_any


class GitBackendHandler(_QuietHandler):
    """Basic auth (server.user, server.password) in front of git http-backend (CGI) serving server.root."""

    def handle_any(self):
        expected = "Basic " + base64.b64encode(f"{self.server.user}:{self.server.password}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            self.server.rejected += 1
            self.send_401()
            return
        self.server.accepted += 1
        path, _, query = self.path.partition("?")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        env = {"GIT_PROJECT_ROOT": str(self.server.root), "GIT_HTTP_EXPORT_ALL": "1", "PATH_INFO": path,
               "QUERY_STRING": query, "REQUEST_METHOD": self.command, "REMOTE_USER": self.server.user,
               "CONTENT_TYPE": self.headers.get("Content-Type", ""), "CONTENT_LENGTH": str(len(body)),
               "PATH": os.environ["PATH"]}
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        out = subprocess.run([HTTP_BACKEND], input=body, capture_output=True, env=env).stdout
        head, _, payload = out.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.split(b"\r\n"):
            name, _, value = line.decode().partition(": ")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = handle_any
    do_POST = handle_any


def serve(handler, address=("127.0.0.1", 0), certificate=None, **attributes):
    """Starts a threaded server in the background; attributes are set on it (received, root, ...).
    With certificate=(cert, key) it speaks HTTPS. Stop it with server.shutdown()."""
    server = http.server.ThreadingHTTPServer(address, handler)
    server.received = []
    server.accepted = server.rejected = 0
    for name, value in attributes.items():
        setattr(server, name, value)
    if certificate:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*[str(part) for part in certificate])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    server.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
