"""The user's own pages: where they land (home), profile (language, API tokens), password
change, language switch."""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from duban.core.exceptions import ActionError
from duban.org.scope import has_business_role

from . import actions
from .client_address import client_address
from .forms import LanguageForm, LoginForm, TokenForm
from .models import ApiToken, token_lifetime


def home(request):
    """Where "/" leads: the ledger for anyone with a business role, else the profile."""
    if not request.user.is_authenticated:
        return redirect("login")
    if has_business_role(request.user):
        return redirect("ledger:problem_list")
    return redirect("accounts:profile")


def _profile_page(request, *, token_form=None, raw_key=None, new_token=None, status=200):
    context = {
        "language_form": LanguageForm(initial={"language": request.user.language}),
        "token_form": token_form or TokenForm(),
        "tokens": request.user.api_tokens.order_by("-created_at"),
        "raw_key": raw_key,
        "new_token": new_token,
        "token_days": token_lifetime().days,
    }
    return render(request, "accounts/profile.html", context, status=status)


@login_required
def profile(request):
    return _profile_page(request)


@login_required
@require_POST
def token_create(request):
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _profile_page(request, token_form=form, status=400)
    try:
        token, raw = actions.issue_token(by=request.user, name=form.cleaned_data["name"])
    except ActionError as error:
        form.add_error(getattr(error, "field", None), str(error))
        return _profile_page(request, token_form=form, status=400)
    # The raw key is rendered once in this response and never stored: no redirect, no session.
    return _profile_page(request, raw_key=raw, new_token=token)


@login_required
@require_POST
def token_revoke(request, pk):
    # Someone else's token answers 404, like anything out of scope.
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    name = str(token)
    actions.revoke_token(token, by=request.user)
    messages.success(request, _("Token %(name)s was revoked.") % {"name": name})
    return redirect("accounts:profile")


@require_POST
def set_language(request):
    """Switch the interface language: saved on the user, or in the session before login."""
    form = LanguageForm(request.POST)
    fallback = reverse("accounts:profile") if request.user.is_authenticated else reverse("login")
    if not form.is_valid():
        messages.error(request, _("Unknown language."))
        return redirect(fallback)
    language = form.cleaned_data["language"]
    if request.user.is_authenticated:
        request.user.language = language
        request.user.save(update_fields=["language"])
    request.session["language"] = language
    translation.activate(language)
    target = form.cleaned_data["next"]
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = fallback
    return redirect(target)


class LoginView(auth_views.LoginView):
    authentication_form = LoginForm

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.wait:
            response.status_code = 429
            response["Retry-After"] = str(form.wait)
        return response

    def form_valid(self, form):
        response = super().form_valid(form)
        user = form.get_user()
        if user.must_change_password:
            actions.note_one_time_login(user, address=client_address(self.request))
            return redirect("accounts:password_change")
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:password_change_done")

    def form_valid(self, form):
        # The action sets the password (Django's form.save() would skip the rest of it).
        try:
            actions.change_password(
                self.request.user, new_password=form.cleaned_data["new_password1"]
            )
        except ActionError as error:
            form.add_error(getattr(error, "field", None), str(error))
            return self.form_invalid(form)
        self.request.user.refresh_from_db()
        update_session_auth_hash(self.request, self.request.user)
        return redirect(self.get_success_url())


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"
