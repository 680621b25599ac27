#!/usr/bin/env python3
"""Post one `order.validated` event five times at once, all with the same Idempotency-Key:
the client is texted once and every answer names the same message.

Usage: MESSAGEPRO_TOKEN=mp_... python3 order_validated.py [REFERENCE] [PHONE]
"""
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import requests

URL = os.environ.get("MESSAGEPRO_URL", "http://127.0.0.1:8080").rstrip("/")
TOKEN = os.environ.get("MESSAGEPRO_TOKEN") or sys.exit("set MESSAGEPRO_TOKEN (scope: events)")
REF = sys.argv[1] if len(sys.argv) > 1 else "A-12"
PHONE = sys.argv[2] if len(sys.argv) > 2 else "621234567"
EVENT = {"type": "order.validated", "id": REF,
         "data": {"order": {"reference": REF}, "client": {"phone": PHONE}}}
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Idempotency-Key": f"order.validated:{REF}"}


def post(_):
    """Posts the event; retries a timeout, a 5xx or a 409 (key in flight) with the SAME key."""
    for attempt in range(8):
        try:
            r = requests.post(f"{URL}/api/v1/events", json=EVENT, headers=HEADERS, timeout=10)
        except requests.RequestException as e:
            status, body = None, {"error": str(e)}
        else:
            try:
                status, body = r.status_code, r.json()
            except ValueError:
                status, body = r.status_code, {"raw": r.text}
            if status != 409 and status < 500:
                return status, r.headers.get("Idempotent-Replayed") == "true", body
        time.sleep(0.1 * 2 ** attempt)
    return status, False, body


with ThreadPoolExecutor(max_workers=5) as pool:
    answers = list(pool.map(post, range(5)))
for status, replayed, body in answers:
    print(f"{status}{' (replayed)' if replayed else ''} {json.dumps(body, ensure_ascii=False)}")
ok = all(s == 202 or (s == 200 and b.get("duplicate") is True) for s, _, b in answers)
same = len({json.dumps(b.get("messages")) for _, _, b in answers}) == 1
sys.exit(0 if ok and same else 1)
