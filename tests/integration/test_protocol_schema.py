"""The JSON Schema in protocol/ describes what the daemon really sends, and the examples in
protocol/protocol.md are valid against it."""

import os
import re
import sys
import unittest

import jsonschema

sys.path.insert(0, os.path.dirname(__file__))
from harness import SOURCE_DIR, Broker, Connection, write_manifest  # noqa: E402

SCHEMA = __import__("json").loads((SOURCE_DIR / "protocol" / "remo-broker.schema.json").read_text())


def validator(pointer):
    return jsonschema.Draft202012Validator({"$defs": SCHEMA["$defs"], "$ref": pointer})


def reply_validator(op):
    return validator(f"#/$defs/reply/properties/{op}")


REQUEST = validator("#/$defs/request")


class DaemonRepliesMatchSchema(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        jsonschema.Draft202012Validator.check_schema(SCHEMA)
        cls.broker = Broker().start()

    @classmethod
    def tearDownClass(cls):
        cls.broker.cleanup()

    def check(self, socket_path, request, expect_ok=None):
        REQUEST.validate(request)
        with Connection(socket_path) as c:
            reply = c.call(request)
        reply_validator(request["op"]).validate(reply)
        if expect_ok is not None:
            self.assertEqual(reply["ok"], expect_ok, reply)
        return reply

    def test_every_op_success_and_failure_shapes(self):
        b = self.broker
        admin = b.admin_socket
        self.check(admin, {"op": "status"}, True)
        self.check(admin, {"op": "get-public-key"}, True)
        self.assertTrue(b.push({"TOKEN": "t-value", "BYTES": b"\x00\xff\x10"})["ok"])
        status = self.check(admin, {"op": "status", "id": 7}, True)
        self.assertEqual(status["id"], 7)
        self.assertEqual(status["secret_count"], 2)
        self.check(admin, {"op": "push-creds", "ciphertext_b64": "bm90IGFuIGFnZSBmaWxl"}, False)
        reply = b.register("schemaproj", ["TOKEN", "BYTES", "ABSENT"])
        reply_validator("register").validate(reply)
        self.check(admin, {"op": "register", "name": "schemaproj", "project_path": reply["socket_path"]}, False)
        self.check(admin, {"op": "reload", "name": "schemaproj"}, True)
        self.check(admin, {"op": "reload", "name": "nosuch"}, False)
        sock = b.project_socket("schemaproj")
        self.check(sock, {"op": "ping"}, True)
        self.check(sock, {"op": "info"}, True)
        self.assertIn("value", self.check(sock, {"op": "get", "name": "TOKEN"}, True))
        self.assertIn("value_b64", self.check(sock, {"op": "get", "name": "BYTES"}, True))
        self.assertEqual(self.check(sock, {"op": "get", "name": "ABSENT"}, False)["code"], "not_found")
        self.assertEqual(self.check(sock, {"op": "get", "name": "NOPE"}, False)["code"], "denied")
        self.check(admin, {"op": "status"}, True)
        self.check(admin, {"op": "unregister", "name": "schemaproj"}, True)
        self.check(admin, {"op": "unregister", "name": "schemaproj"}, False)
        self.check(admin, {"op": "clear-creds"}, True)
        status = self.check(admin, {"op": "status"}, True)
        self.assertIsNone(status["secrets_loaded_at"])

    def test_one_shot_ops_success_and_failure_shapes(self):
        b = self.broker
        admin = b.admin_socket
        b.register("oneshot", [])
        sock = b.project_socket("oneshot")
        created = self.check(admin, {"op": "claim-create", "project": "oneshot", "value": "v", "ttl_seconds": 60,
                                     "id": "c1"}, True)
        made_b64 = self.check(admin, {"op": "claim-create", "project": "oneshot", "value_b64": "AAEC/w==",
                                      "ttl_seconds": 60}, True)
        self.check(admin, {"op": "claim-create", "project": "nosuch", "value": "v", "ttl_seconds": 60}, False)
        self.check(admin, {"op": "claim-list"}, True)
        self.assertIn("value", self.check(sock, {"op": "claim", "token": created["token"]}, True))
        self.assertIn("value_b64", self.check(sock, {"op": "claim", "token": made_b64["token"]}, True))
        self.check(sock, {"op": "claim", "token": created["token"]}, False)
        self.check(sock, {"op": "delete", "token": created["token"]}, False)
        third = self.check(admin, {"op": "claim-create", "project": "oneshot", "value": "v", "ttl_seconds": 60}, True)
        self.check(sock, {"op": "delete", "token": third["token"]}, True)
        fourth = self.check(admin, {"op": "claim-create", "project": "oneshot", "value": "v", "ttl_seconds": 60}, True)
        self.check(admin, {"op": "claim-revoke", "claim_id": fourth["claim_id"]}, True)
        self.check(admin, {"op": "claim-revoke", "claim_id": fourth["claim_id"]}, False)
        listed = self.check(admin, {"op": "claim-list"}, True)
        self.assertEqual(sorted(c["state"] for c in listed["claims"]), ["claimed", "claimed", "deleted", "revoked"])
        self.assertEqual(self.check(admin, {"op": "status"}, True)["claims_pending"], 0)

    def test_kill_switch_and_rate_limit_shapes(self):
        b = self.broker
        admin = b.admin_socket
        project_dir = b.sandbox / "projects" / "limited"
        write_manifest(project_dir, "limited", ["TOKEN"], "[limits]\nrequests_per_second = 1\nburst = 1\n")
        self.check(admin, {"op": "register", "name": "limited", "project_path": str(project_dir)}, True)
        self.check(admin, {"op": "reload", "name": "limited"}, True)
        sock = b.project_socket("limited")
        self.check(sock, {"op": "get", "name": "TOKEN"})
        self.assertEqual(self.check(sock, {"op": "get", "name": "TOKEN"}, False)["code"], "rate_limited")
        self.check(admin, {"op": "lock", "reason": "schema check", "id": "l"}, True)
        self.check(admin, {"op": "lock"}, True)
        self.assertTrue(self.check(admin, {"op": "status"}, True)["locked"])
        self.assertEqual(self.check(sock, {"op": "info"}, False)["code"], "locked")
        self.check(admin, {"op": "unlock"}, True)
        self.check(admin, {"op": "unlock"}, True)
        self.check(admin, {"op": "unregister", "name": "limited"}, True)

    def test_protocol_errors_match_error_shape(self):
        with Connection(self.broker.admin_socket) as c:
            for raw in [b"nonsense\n", b'{"op":"frobnicate"}\n', b'{"op":"register"}\n']:
                c.send_raw(raw)
                reply = c.reply()
                validator("#/$defs/error_reply").validate(reply)
                self.assertEqual(reply["code"], "protocol_error")


class DocumentedExamplesMatchSchema(unittest.TestCase):
    def test_examples_in_protocol_md(self):
        text = (SOURCE_DIR / "protocol" / "protocol.md").read_text()
        checked = 0
        for block in re.findall(r"```\n(.*?)```", text, re.S):
            # Join continuation lines (indented) onto the line they continue.
            lines = []
            for line in block.splitlines():
                if line.startswith("   ") and lines:
                    lines[-1] += line.strip()
                else:
                    lines.append(line)
            op = None
            for line in lines:
                if line.startswith("→ "):
                    request = __import__("json").loads(line[2:])
                    REQUEST.validate(request)
                    op = request["op"]
                    checked += 1
                elif line.startswith("← ") and op:
                    body = re.sub(r"\s+\(.*\)$", "", line[2:].strip())
                    reply_validator(op).validate(__import__("json").loads(body))
                    checked += 1
        self.assertGreater(checked, 20)


if __name__ == "__main__":
    unittest.main(verbosity=2)
