#!/usr/bin/env python3
"""Send a one-time code to PHONE (purpose "signup"), then verify the codes typed on stdin.

Usage: MESSAGEPRO_TOKEN=mp_... python3 otp.py PHONE
"""
import os
import sys

import requests

URL = os.environ.get("MESSAGEPRO_URL", "http://127.0.0.1:8080").rstrip("/")
TOKEN = os.environ.get("MESSAGEPRO_TOKEN") or sys.exit("set MESSAGEPRO_TOKEN (scope: otp)")
if len(sys.argv) < 2:
    sys.exit("usage: otp.py PHONE")
api = requests.Session()
api.headers["Authorization"] = f"Bearer {TOKEN}"
who = {"to": sys.argv[1], "purpose": "signup"}

r = api.post(f"{URL}/api/v1/otp", json=who, timeout=10)
if r.status_code != 202:
    sys.exit(f"{r.status_code} {r.text}")
print(f"Code sent to {r.json()['to']}, valid until {r.json()['expires_at']}.")

while True:
    print("Code: ", end="", flush=True)
    code = sys.stdin.readline().strip()
    if not code:
        sys.exit("no code typed")
    r = api.post(f"{URL}/api/v1/otp/verify", json={**who, "code": code}, timeout=10)
    body = r.json()
    if r.status_code == 200 and body.get("verified"):
        print("Verified.")
        break
    if body.get("code") == "otp_invalid":
        print(f"Wrong code: {body['attempts_left']} attempt(s) left.")
        if body["attempts_left"] > 0:
            continue
    sys.exit(f"{r.status_code} {body.get('code')}: {body.get('detail')}")
