#!/usr/bin/env python3
"""Crash test for remo-broker (issue 7, "Crash and fault tests").

Each round starts the daemon on the same sandbox, fires a burst of changes at it (pushes, registrations
and, when the broker implements them, one-shot creates, claims and deletes), SIGKILLs it at a random
instant, restarts it and checks what survived:
  - the secret set is exactly one bundle that was pushed: the last acknowledged one or one whose push was
    in flight when the daemon died; never a mix, never empty by accident;
  - every acknowledged registration is still bound; an in-flight one is bound or absent, never half;
  - no one-shot value is ever handed out twice, and a pending secret nobody tried to claim or delete is
    still claimable;
  - the audit log parses, line by line.
Rounds are seeded, so a failure is reproducible with --seed and --rounds.

    tests/crash/crash.py --build build [--rounds 200] [--seed N]
"""

import argparse
import base64
import json
import os
import pathlib
import random
import signal
import sys
import threading
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "integration"))
import harness  # noqa: E402


def bundle(generation):
    # Every secret carries the generation, so a mix of two bundles is visible.
    return {"GEN": f"gen-{generation}", "A": f"crash-canary-a-{generation}", "B": f"crash-canary-b-{generation}"}


class Model:
    """What the test knows for sure, from acknowledged replies only."""

    def __init__(self):
        self.acked_generation = None
        self.in_flight_generations = set()
        self.projects_acked = set()
        self.projects_in_flight = set()
        self.pending_tokens = {}  # token -> value: created, acknowledged, never touched since
        self.touched_tokens = {}  # token -> value: a claim or delete was attempted (outcome unknown)
        self.values_handed_out = {}  # value -> round where a claim returned it


def encrypted(broker, generation):
    ciphertext = harness.age_encrypt(broker.recipient, harness.bundle_toml(bundle(generation)))
    return base64.b64encode(ciphertext).decode()


def safe_call(path, request, timeout=2.0):
    try:
        with harness.Connection(path, timeout=timeout) as c:
            return c.call(request)
    except (OSError, ValueError):
        return None  # the daemon died under us: the outcome is unknown


def burst(broker, model, rng, round_no, generation, claims_supported, stop):
    """Changes fired at the daemon until it dies (or the burst ends)."""
    admin = broker.admin_socket
    actions = ["push", "register"] + (["create", "claim", "delete"] if claims_supported else [])
    while not stop.is_set():
        action = rng.choice(actions)
        if action == "push":
            generation[0] += 1
            g = generation[0]
            payload = encrypted(broker, g)
            model.in_flight_generations.add(g)
            reply = safe_call(admin, {"op": "push-creds", "ciphertext_b64": payload})
            if reply is None:
                return
            if reply.get("ok"):
                model.acked_generation = g
                model.in_flight_generations = {x for x in model.in_flight_generations if x > g}
        elif action == "register":
            name = f"p{round_no}-{rng.randrange(1 << 30)}"
            project_dir = broker.sandbox / "projects" / name
            harness.write_manifest(project_dir, name, ["GEN", "A"])
            model.projects_in_flight.add(name)
            reply = safe_call(admin, {"op": "register", "name": name, "project_path": str(project_dir)})
            if reply is None:
                return
            model.projects_in_flight.discard(name)
            if reply.get("ok"):
                model.projects_acked.add(name)
        elif action == "create":
            value = f"one-shot-{round_no}-{rng.randrange(1 << 40)}"
            reply = safe_call(admin, {"op": "claim-create", "project": "base", "value": value, "ttl_seconds": 3600})
            if reply is None:
                return
            if reply.get("ok"):
                model.pending_tokens[reply["token"]] = value
        elif action in ("claim", "delete") and model.pending_tokens:
            token = rng.choice(sorted(model.pending_tokens))
            value = model.pending_tokens.pop(token)
            model.touched_tokens[token] = value
            reply = safe_call(broker.project_socket("base"), {"op": action, "token": token})
            if reply is None:
                return
            if reply.get("ok") and action == "claim":
                handed = reply.get("value")
                if handed != value:
                    raise AssertionError(f"claim returned {handed!r}, expected the value created for that token")
                if handed in model.values_handed_out:
                    raise AssertionError(f"one-shot value handed out twice (rounds {model.values_handed_out[handed]} "
                                         f"and {round_no})")
                model.values_handed_out[handed] = round_no


def check_after_restart(broker, model, round_no, claims_supported):
    problems = []
    served = {}
    for name in ("GEN", "A", "B"):
        reply = broker.project("base", {"op": "get", "name": name})
        served[name] = reply.get("value") if reply.get("ok") else None
    generations = {v.rsplit("-", 1)[1] for v in served.values() if v}
    allowed = set(model.in_flight_generations)
    if model.acked_generation is not None:
        allowed.add(model.acked_generation)
    if model.acked_generation is not None and not any(served.values()):
        problems.append(f"secret set empty after restart (last acknowledged generation {model.acked_generation})")
    elif len(generations) > 1:
        problems.append(f"mixed secret set after restart: {served}")
    elif generations and int(next(iter(generations))) not in allowed:
        problems.append(f"served generation {generations} is neither acknowledged nor in flight {sorted(allowed)}")
    elif generations:
        g = int(next(iter(generations)))
        model.acked_generation = g
        model.in_flight_generations = set()
    status = broker.admin({"op": "status"})
    registered = {p["name"] for p in status.get("projects", [])}
    missing = model.projects_acked - registered
    if missing:
        problems.append(f"acknowledged registrations lost: {sorted(missing)}")
    for name in model.projects_in_flight & registered:
        model.projects_acked.add(name)
    for name in registered:
        if not broker.project_socket(name).exists():
            problems.append(f"project {name} registered but its socket is not bound")
    model.projects_in_flight = set()
    if claims_supported:
        # Tokens touched by an interrupted claim/delete: claim them now; a value may come back only if it
        # was never handed out before.
        for token, value in list(model.touched_tokens.items()):
            reply = broker.project("base", {"op": "claim", "token": token})
            if reply.get("ok"):
                if value in model.values_handed_out:
                    problems.append(f"one-shot value claimed twice (after the crash in round {round_no})")
                model.values_handed_out[value] = round_no
            del model.touched_tokens[token]
        # Pending tokens nobody touched must still be there; list them without consuming.
        listing = broker.admin({"op": "claim-list"})
        pending = sum(1 for c in listing.get("claims", []) if c.get("state") == "pending")
        if pending < len(model.pending_tokens):
            problems.append(f"pending one-shot secrets lost: {pending} listed, {len(model.pending_tokens)} expected")
    try:
        for number, line in enumerate(broker.audit_log.read_text().splitlines(), 1):
            if line.strip():
                json.loads(line)
    except ValueError as e:
        problems.append(f"audit log line {number} does not parse: {e}")
    except FileNotFoundError:
        pass
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default="build")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--max-delay-ms", type=float, default=40.0)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 32)
    rng = random.Random(seed)
    print(f"crash: seed {seed}, {args.rounds} rounds")
    harness.BROKER = str(pathlib.Path(args.build) / "broker" / "remo-broker")

    broker = harness.Broker(extra_args=["--requests-per-second", "0"])  # it hammers one project
    model = Model()
    generation = [0]
    failures = []
    try:
        broker.start()
        model.acked_generation = 0
        assert broker.admin({"op": "push-creds", "ciphertext_b64": encrypted(broker, 0)})["ok"]
        base = broker.sandbox / "projects" / "base"
        harness.write_manifest(base, "base", ["GEN", "A", "B"])
        assert broker.admin({"op": "register", "name": "base", "project_path": str(base)})["ok"]
        model.projects_acked.add("base")
        probe = broker.admin({"op": "claim-list"})
        claims_supported = bool(probe.get("ok"))
        print(f"crash: one-shot claims {'included' if claims_supported else 'not implemented by this broker'}")

        for round_no in range(1, args.rounds + 1):
            stop = threading.Event()
            errors = []

            def run():
                try:
                    burst(broker, model, rng, round_no, generation, claims_supported, stop)
                except AssertionError as e:
                    errors.append(str(e))

            worker = threading.Thread(target=run)
            worker.start()
            time.sleep(rng.uniform(0, args.max_delay_ms) / 1000)
            broker.proc.send_signal(signal.SIGKILL)
            broker.proc.wait()
            stop.set()
            worker.join()
            broker.stop()
            broker.start()
            problems = errors + check_after_restart(broker, model, round_no, claims_supported)
            for p in problems:
                failures.append(f"round {round_no}: {p}")
                print(f"  FAIL round {round_no}: {p}")
            if len(failures) > 10:
                break
        print(f"crash: {round_no} rounds, {generation[0]} pushes attempted, last served generation "
              f"{model.acked_generation}, {len(model.projects_acked)} projects, "
              f"{len(model.values_handed_out)} one-shot values handed out, each once")
        leak = broker.files_containing(b"one-shot-") + broker.files_containing(b"crash-canary")
        if leak:
            failures.append(f"plaintext found on disk: {leak}")
    finally:
        broker.cleanup()
    print("crash: OK" if not failures else f"crash: FAILED (reproduce with --seed {seed} --rounds {args.rounds})")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
