"""Kombo's official Python SDK, unmodified, against bink-proxy's unified-API gateway.

The application's point of view: a Bink token (or a service key) as the SDK's API key, the
Integration's remote_id as its integration id, and the proxy as its server. The SDK checks
every answer against Kombo's schemas, so what the gateway passes back must be exactly
what Kombo (here: the sandbox Kombo) answered.

Usage: kombo_gateway_check.py <proxy base URL> <bink token or service key> <integration id>
Prints one JSON line of what it read; exits 1 with a message on the first failed check.
"""

import json
import sys

from kombo import Kombo, errors


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def every_page(first):
    page = first
    while page is not None:
        yield page
        page = page.next()


def main():
    proxy, token, integration_id = sys.argv[1:4]
    kombo = Kombo(
        api_key=token,
        integration_id=integration_id,
        server_url=f"{proxy}/integrations/kombo/api",
    )
    employees, pages = [], 0
    for page in every_page(kombo.hris.get_employees(page_size=50)):
        pages += 1
        employees.extend(page.result.data.results)
    jobs = [job for page in every_page(kombo.ats.get_jobs()) for job in page.result.data.results]
    if not employees:
        fail("no employees came through the gateway")
    # Another integration id: the gateway's own 404, surfaced by the SDK as an HTTP error.
    stranger = Kombo(
        api_key=token,
        integration_id="personio:notOneOfThisOrganizations",
        server_url=f"{proxy}/integrations/kombo/api",
    )
    try:
        stranger.hris.get_employees()
        fail("another integration id was answered")
    except errors.SDKError as e:
        if e.status_code != 404:
            fail(f"another integration id: HTTP {e.status_code}")
    print(
        json.dumps(
            {
                "employees": len(employees),
                "pages": pages,
                "jobs": len(jobs),
                "first": employees[0].display_full_name,
            }
        )
    )


if __name__ == "__main__":
    main()
