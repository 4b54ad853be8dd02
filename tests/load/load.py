#!/usr/bin/env python3
"""Load and hostile-client test for remo-broker (issue 7, "Load").

Phase 1, mix: N concurrent connections (default 1,000) each loop over allowed gets, denied gets, one-shot
claims (when the broker implements them) and, from the admin socket, pushes of a fresh bundle; every reply
is checked (an allowed get returns the value of the old or the new bundle, never anything else).
Phase 2, hostile: H connections (default 10,000) that are idle, half-open (half a line, then silence),
slow readers (pipelined gets, never read) and slow writers (a byte at a time); while they are connected, a
well-behaved client measured by dev/bench/ndjson_load must keep p99 under 2 ms.
Phase 3, soak (--soak SECONDS): the mix at a low rate while the daemon's RSS is sampled; RSS must not grow
beyond a small allowance after the warm-up.

Prints a table; exits non-zero when a correctness check fails (a wrong reply, the daemon died, a
well-behaved request failed). The 2 ms line is a measured figure on a noisy machine: it is printed with
PASS/MISS and fails the run only with --strict.

    tests/load/load.py --build build [--connections 1000] [--hostile 10000] [--seconds 10] [--soak 0]
"""

import argparse
import asyncio
import base64
import json
import os
import pathlib
import random
import resource
import statistics
import subprocess
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "integration"))
import harness  # noqa: E402

VALUES = {"A": "value-a-1", "B": "value-b-1"}
NEXT_VALUES = {"A": "value-a-2", "B": "value-b-2"}


def percentile(samples, fraction):
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Failures:
    def __init__(self):
        self.items = []

    def add(self, what):
        if len(self.items) < 20:
            self.items.append(what)


async def open_unix(path, limit=1 << 20):
    return await asyncio.open_unix_connection(str(path), limit=limit)


async def call(reader, writer, request):
    writer.write((json.dumps(request) + "\n").encode())
    await writer.drain()
    line = await reader.readline()
    if not line:
        raise ConnectionError("connection closed by the broker")
    return json.loads(line)


async def mix_client(broker, deadline, latencies, failures, counts, claims_supported, tokens):
    reader, writer = await open_unix(broker.project_socket("load"))
    try:
        while time.monotonic() < deadline:
            roll = random.random()
            if claims_supported and roll < 0.05 and tokens:
                token = tokens.pop()
                started = time.perf_counter()
                reply = await call(reader, writer, {"op": "claim", "token": token})
                kind = "claim"
                ok = reply.get("ok") is True and reply.get("value", "").startswith("one-shot-")
            elif roll < 0.25:
                started = time.perf_counter()
                reply = await call(reader, writer, {"op": "get", "name": "DENIED"})
                kind = "deny"
                ok = reply.get("code") == "denied"
            else:
                name = random.choice(["A", "B"])
                started = time.perf_counter()
                reply = await call(reader, writer, {"op": "get", "name": name})
                kind = "get"
                ok = reply.get("ok") is True and reply.get("value") in (VALUES[name], NEXT_VALUES[name])
                if reply.get("code") == "rate_limited":
                    ok, kind = True, "rate_limited"
            latencies.append(time.perf_counter() - started)
            counts[kind] = counts.get(kind, 0) + 1
            if not ok:
                failures.add(f"{kind}: unexpected reply {reply}")
    finally:
        writer.close()


async def pusher(broker, deadline, counts, failures):
    bundles = [base64.b64encode(harness.age_encrypt(broker.recipient, harness.bundle_toml(v))).decode()
               for v in (VALUES, NEXT_VALUES)]
    i = 0
    while time.monotonic() < deadline:
        reader, writer = await open_unix(broker.admin_socket)
        try:
            reply = await call(reader, writer, {"op": "push-creds", "ciphertext_b64": bundles[i % 2]})
        finally:
            writer.close()
        if not reply.get("ok"):
            failures.add(f"push: {reply}")
        counts["push"] = counts.get("push", 0) + 1
        i += 1
        await asyncio.sleep(0.05)


def make_claims(broker, count):
    tokens = []
    for i in range(count):
        reply = broker.admin({"op": "claim-create", "project": "load", "value": f"one-shot-{i}", "ttl_seconds": 600})
        if not reply.get("ok"):
            return None
        tokens.append(reply["token"])
    return tokens


async def phase_mix(broker, connections, seconds):
    latencies, failures, counts = [], Failures(), {}
    tokens = make_claims(broker, 200)
    claims_supported = tokens is not None
    deadline = time.monotonic() + seconds
    started = time.monotonic()
    tasks = [mix_client(broker, deadline, latencies, failures, counts, claims_supported, tokens or [])
             for _ in range(connections)]
    tasks.append(pusher(broker, deadline, counts, failures))
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for r in results:
        if isinstance(r, Exception):
            failures.add(f"client error: {r!r}")
    elapsed = time.monotonic() - started
    return {"requests": len(latencies), "rps": len(latencies) / elapsed, "p50_ms": percentile(latencies, 0.5) * 1e3,
            "p99_ms": percentile(latencies, 0.99) * 1e3, "counts": counts, "claims": claims_supported,
            "failures": failures.items}


async def hostile_connections(broker, count, hold):
    """Opens count hostile connections of four kinds, holds them until hold is set, then closes them."""
    path = broker.project_socket("load")
    writers, opened = [], {"idle": 0, "half_open": 0, "slow_reader": 0, "slow_writer": 0}
    kinds = ["idle", "half_open", "slow_reader", "slow_writer"]
    trickles = []
    for i in range(count):
        kind = "slow_reader" if i % 100 == 0 else "slow_writer" if i % 100 == 1 else kinds[i % 2]
        try:
            reader, writer = await open_unix(path)
        except OSError as e:
            print(f"  hostile: stopped opening at {i}: {e}", file=sys.stderr)
            break
        if kind == "half_open":
            writer.write(b'{"op":"get","na')
        elif kind == "slow_reader":
            writer.write(b'{"op":"get","name":"A"}\n' * 2000)  # never reads the replies
        elif kind == "slow_writer":
            trickles.append(writer)
        writers.append(writer)
        opened[kind] += 1
    for w in writers:
        try:
            await asyncio.wait_for(w.drain(), timeout=0.01)
        except (asyncio.TimeoutError, OSError):  # the broker may close a hostile connection: its right
            pass

    async def trickle():
        line = b'{"op":"ping"}\n'
        i = 0
        while not hold.is_set():
            for w in trickles:
                w.write(line[i % len(line):i % len(line) + 1])
            i += 1
            await asyncio.sleep(0.05)

    trickler = asyncio.create_task(trickle())
    return opened, writers, trickler


def well_behaved(build, socket_path, connections, requests):
    tool = pathlib.Path(build) / "dev" / "bench" / "ndjson_load"
    out = subprocess.run([str(tool), "--socket", str(socket_path), "--connections", str(connections),
                          "--requests-per-conn", str(requests), "--warmup", "200",
                          "--line", '{"op":"get","name":"A"}', "--expect-ok"],
                         capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(f"ndjson_load failed: {out.stderr.strip()}")
    return json.loads(out.stdout)


async def phase_hostile(broker, build, count, requests):
    hold = asyncio.Event()
    opened, writers, trickler = await hostile_connections(broker, count, hold)
    await asyncio.sleep(0.5)
    loop = asyncio.get_running_loop()
    measured = await loop.run_in_executor(None, well_behaved, build, broker.project_socket("load"), 1, requests)
    hold.set()
    await trickler
    for w in writers:
        w.close()
    return opened, measured


async def phase_soak(broker, seconds):
    pid = broker.proc.pid
    samples = []
    deadline = time.monotonic() + seconds
    warm_until = time.monotonic() + min(10, seconds / 4)
    failures, counts = Failures(), {}
    while time.monotonic() < deadline:
        round_deadline = min(deadline, time.monotonic() + 2)
        await asyncio.gather(*[mix_client(broker, round_deadline, [], failures, counts, False, [])
                               for _ in range(20)], pusher(broker, round_deadline, counts, failures))
        if time.monotonic() > warm_until:
            samples.append(rss_kib(pid))
    return samples, failures.items


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default="build")
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--hostile", type=int, default=10000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--requests", type=int, default=20000, help="well-behaved requests in phase 2")
    parser.add_argument("--soak", type=float, default=0, help="soak seconds (0: no soak)")
    parser.add_argument("--strict", action="store_true", help="a missed p99 target fails the run")
    args = parser.parse_args()

    harness.BROKER = str(pathlib.Path(args.build) / "broker" / "remo-broker")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    headroom = hard - 200
    hostile = min(args.hostile, headroom - args.connections)

    # No rate limit: this measures the daemon, not the per-project token bucket.
    broker = harness.Broker(extra_args=["--project-max-connections", str(max(hostile, args.connections) + 100),
                                        "--requests-per-second", "0"])
    ok = True
    try:
        broker.start()
        assert broker.push(VALUES)["ok"]
        project_dir = broker.sandbox / "projects" / "load"
        harness.write_manifest(project_dir, "load", ["A", "B"])
        assert broker.admin({"op": "register", "name": "load", "project_path": str(project_dir)})["ok"]

        mix = asyncio.run(phase_mix(broker, args.connections, args.seconds))
        print(f"mix      {args.connections} connections, {args.seconds:.0f} s: {mix['requests']} requests, "
              f"{mix['rps']:.0f} req/s, p50 {mix['p50_ms']:.2f} ms, p99 {mix['p99_ms']:.2f} ms "
              f"(client-observed, Python asyncio); {mix['counts']}; claims {'on' if mix['claims'] else 'not implemented'}")
        for f in mix["failures"]:
            print("  FAIL", f)
            ok = False

        opened, measured = asyncio.run(phase_hostile(broker, args.build, hostile, args.requests))
        verdict = "PASS" if measured["p99_us"] < 2000 else "MISS"
        print(f"hostile  {sum(opened.values())} connected {opened}")
        print(f"         well-behaved client beside them: {measured['requests']} gets, p50 {measured['p50_us']:.0f} us, "
              f"p99 {measured['p99_us']:.0f} us, max {measured['max_us']:.0f} us, errors {measured['errors']} "
              f"-> p99 < 2 ms: {verdict}")
        if measured["errors"]:
            ok = False
        if verdict == "MISS" and args.strict:
            ok = False

        if args.soak > 0:
            samples, failures = asyncio.run(phase_soak(broker, args.soak))
            growth = (samples[-1] - samples[0]) if len(samples) > 1 else 0
            print(f"soak     {args.soak:.0f} s: RSS {samples[0] if samples else 0} -> {samples[-1] if samples else 0} KiB "
                  f"(max {max(samples) if samples else 0}), growth {growth} KiB")
            for f in failures:
                print("  FAIL", f)
                ok = False
            if growth > 2048:
                print("  FAIL RSS grew by more than 2 MiB after the warm-up")
                ok = False

        if broker.proc.poll() is not None:
            print("FAIL the broker died")
            ok = False
        status = broker.admin({"op": "status"})
        if not status.get("ok"):
            print("FAIL status after the load:", status)
            ok = False
        leaks = [p for p in broker.files_containing(b"value-a-") if p.name != "broker.stderr"]
        stderr_leak = b"value-a-" in broker.stderr().encode()
        if leaks or stderr_leak:
            print("FAIL secret values on disk or in the log:", leaks, stderr_leak)
            ok = False
    finally:
        broker.cleanup()
    print("load: OK" if ok else "load: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
