#!/usr/bin/env python3
"""Signs in through a running bink-proxy against the sandbox Bink and prints the session
cookie as a `Cookie:` header value (stdlib only; used by the benchmark scripts).

    session_cookie.py PROXY_URL [LOGIN_HINT]
"""
import http.client
import sys
import urllib.parse


def request(url, method="GET", body=None, cookies=""):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.netloc)
    headers = {"Cookie": cookies} if cookies else {}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, u.path + ("?" + u.query if u.query else ""), body, headers)
    response = conn.getresponse()
    response.read()
    return response


def set_cookies(response):
    return "; ".join(v.split(";", 1)[0] for k, v in response.getheaders() if k.lower() == "set-cookie")


def main():
    proxy = sys.argv[1].rstrip("/")
    hint = sys.argv[2] if len(sys.argv) > 2 else "ada"
    start = request(proxy + "/oauth2/start?rd=/")
    if start.status != 302:
        sys.exit(f"/oauth2/start answered {start.status}")
    csrf = set_cookies(start)
    authorize = urllib.parse.urlsplit(start.getheader("Location"))
    form = dict(urllib.parse.parse_qsl(authorize.query))
    form.update(login_hint=hint, decision="approve")
    decision = request(
        urllib.parse.urlunsplit(authorize._replace(query="")), "POST", urllib.parse.urlencode(form)
    )
    if decision.status not in (302, 303):
        sys.exit(f"sandbox authorize answered {decision.status}")
    callback = urllib.parse.urljoin(proxy + "/", decision.getheader("Location"))
    done = request(callback, cookies=csrf)
    if done.status != 302:
        sys.exit(f"/oauth2/callback answered {done.status}")
    session = "; ".join(c for c in set_cookies(done).split("; ") if c.split("=", 1)[1])
    if not session:
        sys.exit("no session cookie set")
    print(session)


if __name__ == "__main__":
    main()
