#!/usr/bin/env python3
"""Event lag: for each event, the time from its commit (the envelope's occurred_at, stamped in
the producing transaction) to its delivery on a consumer queue and, when a gateway URL is
given, to the SSE stream. Prints one JSON object with p50/p95/p99 in milliseconds.

    lag_probe.py --seconds 20 [--key intake.request.submitted] [--sse http://127.0.0.1:8080 --token T]

Loopback only; stops by itself after --seconds.
"""
import argparse
import datetime
import json
import threading
import time
import urllib.request

import pika


def varint(buf, i):
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def fields(buf):
    """Top-level protobuf fields: {number: value} for varints and length-delimited bytes."""
    out, i = {}, 0
    while i < len(buf):
        key, i = varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            out[num], i = varint(buf, i)
        elif wire == 2:
            n, i = varint(buf, i)
            out[num], i = buf[i:i + n], i + n
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        else:
            raise ValueError("unsupported wire type %d" % wire)
    return out


def occurred_at(envelope):
    ts = fields(fields(envelope).get(3, b""))
    return ts.get(1, 0) + ts.get(2, 0) / 1e9


def percentiles(samples):
    if not samples:
        return {"count": 0}
    s = sorted(samples)
    pick = lambda q: s[min(len(s) - 1, int(q * len(s)))]
    return {"count": len(s), "p50_ms": round(pick(0.50), 2), "p95_ms": round(pick(0.95), 2),
            "p99_ms": round(pick(0.99), 2), "max_ms": round(s[-1], 2)}


def amqp_lags(args, lags, stop):
    conn = pika.BlockingConnection(pika.URLParameters(args.amqp))
    ch = conn.channel()
    q = ch.queue_declare("", exclusive=True, auto_delete=True).method.queue
    ch.queue_bind(q, args.exchange, args.key)
    ch.basic_qos(prefetch_count=500)
    deadline = time.time() + args.seconds
    for method, _props, body in ch.consume(q, auto_ack=True, inactivity_timeout=0.5):
        if time.time() > deadline or stop.is_set():
            break
        if method is None:
            continue
        lags.append((time.time() - occurred_at(body)) * 1000)
    ch.cancel()
    conn.close()


def sse_lags(args, lags, stop):
    req = urllib.request.Request(args.sse.rstrip("/") + "/v1/events/stream?types=" + args.key,
                                 headers={"Authorization": "Bearer " + args.token, "Accept": "text/event-stream"})
    deadline = time.time() + args.seconds
    with urllib.request.urlopen(req, timeout=args.seconds + 5) as resp:
        for raw in resp:
            if time.time() > deadline or stop.is_set():
                break
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if not line.startswith("data:"):
                continue
            event = json.loads(line[5:])
            at = event.get("occurred_at") or event.get("envelope", {}).get("occurred_at")
            if at:
                t = datetime.datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()
                lags.append((time.time() - t) * 1000)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672/%2f")
    p.add_argument("--exchange", default="aftersales.events")
    p.add_argument("--key", default="intake.request.submitted")
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--sse", default="")
    p.add_argument("--token", default="")
    args = p.parse_args()
    stop = threading.Event()
    amqp, sse = [], []
    threads = [threading.Thread(target=amqp_lags, args=(args, amqp, stop))]
    if args.sse:
        threads.append(threading.Thread(target=sse_lags, args=(args, sse, stop)))
    for t in threads:
        t.start()
    for t in threads:
        t.join(args.seconds + 10)
    stop.set()
    print(json.dumps({"consumer": percentiles(amqp), "sse": percentiles(sse) if args.sse else None}))


if __name__ == "__main__":
    main()
