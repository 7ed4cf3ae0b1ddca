"""Kombo's official Python SDK (`kombo` on PyPI) against the sandbox Kombo.

The SDK validates every answer against Kombo's real schemas (pydantic models generated
from Kombo's OpenAPI document), so an answer the sandbox shapes wrongly fails here with a
ResponseValidationError, independently of the project's own tests.

Usage: kombo_sdk_check.py <api base, e.g. http://127.0.0.1:P/kombo/v1> <api key> <phase>
  lifecycle     create-link, integration-by-token, no deduplication, relink, delete, errors
  rate-limited  the sandbox answers 429: the SDK reads Kombo's error and the Retry-After
  unified       a new integration's employees (every page, through .next()) and jobs; an
                unknown integration id is Kombo's 404
  unified-rate-limited  the sandbox's rate limit allows 2 calls: the third is Kombo's 429
Prints one JSON line of what it saw; exits 1 with a message on the first failed check.
"""

import json
import sys
import urllib.request

from kombo import Kombo, errors


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def complete(api_base, link):
    """What the connect page's button does in a browser: the activation token for a link."""
    mount = api_base.rsplit("/v1", 1)[0]
    token = link.split("token=", 1)[1].split("&", 1)[0]
    request = urllib.request.Request(
        f"{mount}/connect/complete",
        data=json.dumps({"token": token}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request) as answer:
        return json.load(answer)["activation_token"]


def expect_error(call, status, what):
    """`call` must raise Kombo's own error (a parsed KomboGeneralError) with `status`."""
    try:
        call()
    except errors.KomboGeneralError as e:
        if e.status_code != status:
            fail(f"{what}: HTTP {e.status_code}, expected {status}")
        if not e.data.error.message:
            fail(f"{what}: no message in Kombo's error")
        return e
    except errors.ResponseValidationError as e:
        fail(f"{what}: the error body does not match Kombo's schema: {e}")
    fail(f"{what}: no error raised")


def lifecycle(kombo, api_base):
    seen = {}
    link = kombo.connect.create_connection_link(
        end_user_email="ben@acme.com",
        end_user_organization_name="Acme",
        end_user_origin_id="acme.com",
        integration_category="HRIS",
        integration_tool="personio",
        language="de",
    ).data.link
    first = kombo.connect.get_integration_by_token(token=complete(api_base, link)).data
    if not first.id.startswith("personio:"):
        fail(f"integration id {first.id!r} is not in Kombo's shape")
    if (first.tool, first.setup_status, first.end_user_origin_id) != ("personio", "COMPLETED", "acme.com"):
        fail(f"integration {first!r}")
    seen["integration_id"] = first.id

    # Kombo does not deduplicate: the same link completed again is another integration.
    second = kombo.connect.get_integration_by_token(token=complete(api_base, link)).data
    if second.id == first.id:
        fail("the sandbox deduplicated a second connection")

    # Relink reconnects the same integration.
    relink = kombo.general.create_reconnection_link(integration_id=first.id, language="fr").data.link
    again = kombo.connect.get_integration_by_token(token=complete(api_base, relink)).data
    if again.id != first.id:
        fail(f"relink gave {again.id}, not {first.id}")
    seen["relinked_to_same_id"] = True

    # Delete, then Kombo's 404 in its error schema.
    kombo.general.delete_integration(integration_id=first.id, body={})
    expect_error(
        lambda: kombo.general.delete_integration(integration_id=first.id, body={}),
        404,
        "a second delete",
    )
    expect_error(
        lambda: kombo.connect.get_integration_by_token(token="at_unknown"),
        404,
        "an unknown activation token",
    )
    # Kombo requires the end user's email: an empty one is Kombo's 400.
    expect_error(
        lambda: kombo.connect.create_connection_link(
            end_user_email="", end_user_organization_name="Acme", integration_category="HRIS"
        ),
        400,
        "an empty end_user_email",
    )
    seen["errors_parse"] = True
    return seen


def rate_limited(kombo, _api_base):
    e = expect_error(
        lambda: kombo.connect.create_connection_link(
            end_user_email="ben@acme.com", end_user_organization_name="Acme"
        ),
        429,
        "a rate-limited create-link",
    )
    if e.data.error.code != "PLATFORM.RATE_LIMIT_EXCEEDED":
        fail(f"429 code {e.data.error.code}")
    return {"retry_after": e.headers.get("retry-after")}


def connect(kombo, api_base, category="HRIS"):
    """A new integration's id, connected as a browser would (create-link, the page's
    button, integration-by-token)."""
    link = kombo.connect.create_connection_link(
        end_user_email="ben@acme.com",
        end_user_organization_name="Acme",
        end_user_origin_id="acme.com",
        integration_category=category,
        integration_tool="personio",
    ).data.link
    return kombo.connect.get_integration_by_token(token=complete(api_base, link)).data.id


def every_page(first):
    """The results of `first` and of every page after it (the SDK's `.next()`), and how
    many pages there were."""
    results, pages, page = [], 0, first
    while page is not None:
        results.extend(page.result.data.results)
        pages += 1
        page = page.next()
    return results, pages


def expect_unified_error(call, error_class, status, code, what):
    """`call` must raise Kombo's unified-API error (`KomboHrisError` for /hris, as the
    SDK raises for every HRIS endpoint) with `status` and `code`."""
    try:
        call()
    except error_class as e:
        if e.status_code != status or e.data.error.code != code:
            fail(f"{what}: HTTP {e.status_code} {e.data.error.code}, expected {status} {code}")
        return e
    except errors.ResponseValidationError as e:
        fail(f"{what}: the error body does not match Kombo's schema: {e}")
    fail(f"{what}: no error raised")


def unified(kombo, api_base, api_key):
    integration_id = connect(kombo, api_base)
    k = Kombo(api_key=api_key, integration_id=integration_id, server_url=api_base)
    employees, employee_pages = every_page(k.hris.get_employees(page_size=50))
    ids = {e.id for e in employees}
    if len(ids) != len(employees):
        fail("an employee was listed twice across pages")
    if not all(e.work_email.endswith("@acme.com") for e in employees):
        fail("a work email is not on the organization's domain")
    if all(e.first_name.isascii() and e.last_name.isascii() for e in employees):
        fail("no non-ASCII name in the sample")
    managers = {e.manager.id for e in employees if e.manager is not None}
    if not managers <= ids:
        fail("a manager is not one of the employees")
    jobs, job_pages = every_page(k.ats.get_jobs())
    if not all(j.stages and j.hiring_team for j in jobs):
        fail("a job without stages or hiring team")
    # The same integration gives the same data on every call.
    again = k.hris.get_employees(page_size=250).result.data.results
    if [e.id for e in again] != [e.id for e in employees]:
        fail("the sample data changed between calls")

    unknown = Kombo(api_key=api_key, integration_id="personio:unknown", server_url=api_base)
    e = expect_unified_error(
        lambda: unknown.hris.get_employees(),
        errors.KomboHrisError,
        404,
        "PLATFORM.INTEGRATION_NOT_FOUND",
        "an unknown integration's employees",
    )
    expect_unified_error(
        lambda: unknown.ats.get_jobs(),
        errors.KomboAtsError,
        404,
        "PLATFORM.INTEGRATION_NOT_FOUND",
        "an unknown integration's jobs",
    )
    expect_unified_error(
        lambda: k.hris.get_employees(page_size=251),
        errors.KomboHrisError,
        400,
        "PLATFORM.INPUT_INVALID",
        "a page of 251",
    )
    return {
        "integration_id": integration_id,
        "employees": len(employees),
        "employee_pages": employee_pages,
        "jobs": len(jobs),
        "job_pages": job_pages,
        "unknown_integration_message": e.data.error.message,
    }


def unified_rate_limited(kombo, api_base, api_key):
    k = Kombo(api_key=api_key, integration_id=connect(kombo, api_base), server_url=api_base)
    k.hris.get_employees(page_size=10)
    k.ats.get_jobs(page_size=10)
    e = expect_unified_error(
        lambda: k.hris.get_employees(page_size=10),
        errors.KomboHrisError,
        429,
        "PLATFORM.RATE_LIMIT_EXCEEDED",
        "a third call",
    )
    return {
        "retry_after": e.headers.get("retry-after"),
        "remaining": e.headers.get("x-ratelimit-remaining"),
    }


def main():
    api_base, api_key, phase = sys.argv[1:4]
    kombo = Kombo(api_key=api_key, server_url=api_base)
    phases = {
        "lifecycle": lifecycle,
        "rate-limited": rate_limited,
        "unified": lambda k, base: unified(k, base, api_key),
        "unified-rate-limited": lambda k, base: unified_rate_limited(k, base, api_key),
    }
    print(json.dumps(phases[phase](kombo, api_base)))


if __name__ == "__main__":
    main()
