import pytest
from django.conf import settings
from django.test import Client


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_it_renders_the_docs_page_in_a_browser_without_leaving_the_server(world, live_server, page):
    client = Client()
    client.force_login(world.office)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    requested = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto(live_server.url + "/api/v1/docs")
    # The operations appear only once the bundled Swagger UI has loaded openapi.json.
    page.wait_for_selector("#operations-problems-list_problems", timeout=15000)

    assert page.locator("#operations-actions-action_claim").count() == 1
    assert requested and all(url.startswith(live_server.url) for url in requested), requested
