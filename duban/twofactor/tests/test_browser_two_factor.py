"""Setting up and using two-factor login in a real browser, on a phone-sized screen."""

import re

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from duban.testing import PASSWORD, build_world

from .test_two_factor import code_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_office_user_sets_it_up_then_logs_in_with_a_code(live_server, browser, settings):
    settings.DUBAN_2FA_REQUIRED = True
    world = build_world()
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", "office")
        page.fill("#id_password", PASSWORD)
        page.locator("form button[type=submit]").first.click()
        page.wait_for_url(re.compile(r".*/two-factor/setup/.*"))
        # The QR code is a real picture the phone can scan.
        page.wait_for_function("document.querySelector('img.qr-code').complete")
        assert page.evaluate("document.querySelector('img.qr-code').naturalWidth") > 0
        device = TOTPDevice.objects.get(user=world.office, confirmed=False)
        page.fill("#id_code", code_for(device))
        page.locator("main form button[type=submit]").first.click()
        codes = page.locator(".recovery-codes li")
        assert codes.count() == 10
        page.get_by_role("link", name=re.compile("已妥善保存|I have kept them")).click()
        page.wait_for_url(re.compile(r".*/ledger/.*"))

        # Next time: password, then the code.
        page.locator("nav form[action$='/logout/'] button").click()
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", "office")
        page.fill("#id_password", PASSWORD)
        page.locator("form button[type=submit]").first.click()
        page.wait_for_url(re.compile(r".*/two-factor/verify/.*"))
        device.refresh_from_db()
        page.fill("#id_code", code_for(device, 1))
        page.locator("main form button[type=submit]").first.click()
        page.wait_for_url(re.compile(r".*/ledger/.*"))
        assert page.locator("h1").first.is_visible()
    finally:
        context.close()
