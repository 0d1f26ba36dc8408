"""Waits for the fuzz server's /healthz, signs up a new account and prints a write token for it.

Usage: account.py BASE_URL USERNAME. Only the standard library: it runs on the venv's Python
before anything else is known to work. A non-browser client needs no CSRF token (it sends no
Origin or Sec-Fetch-Site header), and a fresh session may create a token without re-entering
the password.
"""

import http.cookiejar
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

base, username = sys.argv[1], sys.argv[2]
opener = urllib.request.build_opener(
    urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
)


def post(path, fields):
    data = urllib.parse.urlencode(fields).encode()
    with opener.open(base + path, data=data, timeout=30) as response:
        return response.status, response.read().decode()


deadline = time.monotonic() + 60
while True:
    try:
        with opener.open(base + "/healthz", timeout=5) as response:
            if response.status == 200:
                break
    except (urllib.error.URLError, ConnectionError):
        pass
    if time.monotonic() > deadline:
        sys.exit(f"{base}/healthz did not answer 200 within 60 s")
    time.sleep(0.25)

password = "fuzz the API, " + username
status, _ = post(
    "/signup",
    {"username": username, "email": f"{username}@example.invalid", "password": password},
)
if status != 200:
    sys.exit(f"signup answered {status}")
status, page = post(
    "/settings/tokens", {"name": "schemathesis", "scope": "write", "expires_in_days": ""}
)
token = re.search(r"txtcv_pat_[0-9a-f]{64}", page)
if status != 200 or token is None:
    sys.exit(f"creating a token answered {status} without a token in the page")
print(token.group(0))
