"""/account/tokens/ in a real browser (Debian chromium, Playwright) against daphne: make a token, use it, revoke it."""

from __future__ import annotations

import pytest
import requests

from translations.models import ApiToken
from translations.tests.live_stack import Stack
from translations.tests.test_browser import Tab, sign_in
from translations.tests.test_browser import browser as browser
from translations.tests.test_browser import static_root as static_root

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_reader_makes_uses_and_revokes_a_token_in_the_browser(browser, data_dir, tmp_path, static_root):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("reader", password="a password")
    stack = Stack(data_dir, tmp_path, STATIC_ROOT=str(static_root))
    stack.start("daphne")
    base = f"http://127.0.0.1:{stack.port}"
    try:
        tab = Tab(browser.new_context(viewport={"width": 1280, "height": 900}), base, "api-tokens")
        sign_in(tab, "reader")
        tab.page.get_by_role("link", name="API tokens").click()
        tab.page.wait_for_url(f"{base}/account/tokens/")
        tab.page.get_by_label("Name").fill("my script")
        tab.page.get_by_label("Expires in days").fill("30")
        tab.page.get_by_role("button", name="Make token").click()
        secret = tab.page.locator("#token-secret code").inner_text()
        tab.shot("01-token-made")

        api = f"{base}/api/v1/manga/"
        assert requests.get(api, headers={"Authorization": f"Bearer {secret}"}, timeout=10).status_code == 200
        tab.goto("/account/tokens/")
        assert secret not in tab.page.content()
        assert tab.page.get_by_role("cell", name="active").is_visible()
        tab.page.get_by_role("button", name="Revoke my script").click()
        tab.page.wait_for_url(f"{base}/account/tokens/")
        assert tab.page.get_by_role("cell", name="revoked").is_visible()
        tab.shot("02-token-revoked")
        refused = requests.get(api, headers={"Authorization": f"Bearer {secret}"}, timeout=10)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "token_revoked"
        assert ApiToken.objects.get().revoked_at is not None
        tab.assert_no_errors()
    finally:
        stack.stop()
        print(stack.logs())  # shown by pytest only when the test fails
