"""The profile: language switch, API tokens, password change."""

import json

import pytest
from django.urls import reverse

from duban.accounts.actions import issue_token, revoke_token
from duban.accounts.models import ApiToken, hash_token
from duban.audit.log import verify
from duban.audit.models import AuditEvent
from duban.core.exceptions import InvalidInput, NotAllowed
from duban.testing import PASSWORD


def html_lang(response) -> str:
    html = response.content.decode()
    start = html.index('<html lang="') + len('<html lang="')
    return html[start : html.index('"', start)]


def test_it_speaks_chinese_by_default(client, world):
    client.force_login(world.liaison)
    response = client.get(reverse("accounts:profile"))
    assert response["Content-Language"] == "zh-hans"
    assert html_lang(response) == "zh-hans"


def test_it_switches_a_users_language_and_remembers_it(client, world):
    client.force_login(world.liaison)
    response = client.post(reverse("accounts:set_language"), {"language": "en", "next": "/ledger/"})
    assert response.status_code == 302 and response["Location"] == "/ledger/"
    world.liaison.refresh_from_db()
    assert world.liaison.language == "en"
    page = client.get(reverse("ledger:problem_list"))
    assert page["Content-Language"] == "en"
    assert html_lang(page) == "en"


def test_it_lets_an_anonymous_visitor_switch_the_login_page_language(client, world):
    assert html_lang(client.get("/accounts/login/")) == "zh-hans"
    client.post(reverse("accounts:set_language"), {"language": "en", "next": "/accounts/login/"})
    assert client.session["language"] == "en"
    login_page = client.get("/accounts/login/")
    assert html_lang(login_page) == "en" and login_page["Content-Language"] == "en"


def test_it_refuses_an_unknown_language_and_a_foreign_redirect(client, world):
    client.force_login(world.liaison)
    client.post(reverse("accounts:set_language"), {"language": "fr"})
    world.liaison.refresh_from_db()
    assert world.liaison.language == "zh-hans"
    response = client.post(
        reverse("accounts:set_language"), {"language": "en", "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("accounts:profile")


def test_it_issues_an_api_token_and_shows_the_key_once(client, world):
    client.force_login(world.liaison)
    response = client.post(reverse("accounts:token_create"), {"name": "报表脚本"})
    assert response.status_code == 200
    raw = response.context["raw_key"]
    assert raw.startswith("dbn_") and raw in response.content.decode()
    token = ApiToken.objects.get(user=world.liaison)
    assert token.name == "报表脚本" and token.key_hash == hash_token(raw)
    again = client.get(reverse("accounts:profile")).content.decode()
    assert "报表脚本" in again and raw not in again


def test_it_records_a_new_token_in_the_audit_log_without_its_key(client, world):
    client.force_login(world.liaison)
    response = client.post(reverse("accounts:token_create"), {"name": "报表脚本"})

    raw = response.context["raw_key"]
    token = ApiToken.objects.get(user=world.liaison)
    [event] = AuditEvent.objects.filter(action="token.create")
    assert event.actor_id == world.liaison.pk
    assert (event.target_type, event.target_id) == ("accounts.apitoken", str(token.pk))
    assert event.after == {"name": "报表脚本"}
    stored = json.dumps([event.before, event.after, event.actor_name])
    assert raw not in stored and token.key_hash not in stored
    assert verify().ok


def test_it_records_a_revoked_token_in_the_audit_log(client, world):
    token, raw = ApiToken.issue(world.liaison, "旧脚本")
    client.force_login(world.liaison)

    client.post(reverse("accounts:token_revoke", args=[token.pk]))

    [event] = AuditEvent.objects.filter(action="token.revoke")
    assert event.actor_id == world.liaison.pk
    assert (event.target_type, event.target_id) == ("accounts.apitoken", str(token.pk))
    assert event.before == {"name": "旧脚本"}
    assert raw not in json.dumps([event.before, event.after])


def test_the_token_actions_keep_their_rules_outside_the_views(world):
    token, _raw = ApiToken.issue(world.liaison, "联络员的脚本")

    with pytest.raises(InvalidInput):
        issue_token(by=world.liaison, name="  ")
    with pytest.raises(NotAllowed):
        revoke_token(token, by=world.other_liaison)

    assert ApiToken.objects.filter(pk=token.pk).exists()
    assert not AuditEvent.objects.filter(action__startswith="token.").exists()


def test_it_requires_a_token_name(client, world):
    client.force_login(world.liaison)
    response = client.post(reverse("accounts:token_create"), {"name": ""})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_it_revokes_the_users_own_token(client, world):
    token, _raw = ApiToken.issue(world.liaison, "旧脚本")
    client.force_login(world.liaison)
    response = client.post(reverse("accounts:token_revoke", args=[token.pk]))
    assert response.status_code == 302
    assert not ApiToken.objects.filter(pk=token.pk).exists()


def test_it_does_not_let_anyone_revoke_someone_elses_token(client, world):
    token, _raw = ApiToken.issue(world.liaison, "联络员的脚本")
    client.force_login(world.other_liaison)
    assert client.post(reverse("accounts:token_revoke", args=[token.pk])).status_code == 404
    assert "联络员的脚本" not in client.get(reverse("accounts:profile")).content.decode()
    assert ApiToken.objects.filter(pk=token.pk).exists()
    assert not AuditEvent.objects.filter(action="token.revoke").exists()


def test_it_refuses_a_weak_new_password_with_a_clear_message(client, world):
    client.force_login(world.liaison)
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": "abc123", "new_password2": "abc123"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    # The liaison reads the default language, Chinese (Django translates its own validators).
    assert "密码未修改" in html
    assert "密码太短" in html
    world.liaison.refresh_from_db()
    assert world.liaison.check_password(PASSWORD)


def test_it_changes_the_password(client, world):
    client.force_login(world.liaison)
    new = "Rectify-Huzhou-2027!"
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password_change_done")
    world.liaison.refresh_from_db()
    assert world.liaison.check_password(new)
    # Still logged in: Django keeps the session valid after a password change.
    done = client.get(reverse("accounts:password_change_done"))
    assert done.status_code == 200 and 'role="status"' in done.content.decode()


def test_it_shows_the_profile_to_users_without_a_business_role(client, world):
    client.force_login(world.sysadmin)
    assert client.get(reverse("accounts:profile")).status_code == 200
    assert client.get("/").url == reverse("accounts:profile")
