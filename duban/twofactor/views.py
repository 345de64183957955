"""The user's two-factor pages: overview, set-up (with its QR code), the login's code step,
new recovery codes, turning it off; and the system administrator's reset of a lost one."""

import io

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp import verify_token
from django_otp.plugins.otp_static.models import StaticDevice

from duban.accounts.admin_actions import is_sysadmin, managed_users
from duban.core.exceptions import ActionError, NotAllowed
from duban.core.http import form_methods, post_only, read_only, refused, show_action_error

from . import actions
from .forms import CodeForm, NewAuthenticatorForm
from .policy import authenticator, has_two_factor, required_for


def _safe_next(request) -> HttpResponseRedirect:
    """Back to the page the user asked for, if it is a path of ours; else home."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return HttpResponseRedirect(target)
    return HttpResponseRedirect(reverse("home"))


def _codes_page(request, codes):
    # Shown once, in this response only: no redirect, nothing kept in the session.
    return render(request, "twofactor/recovery_codes.html", {"codes": codes})


@login_required
def overview(request):
    if refusal := read_only(request):
        return refusal
    return _overview_page(request, CodeForm())


def _overview_page(request, form, status=200):
    context = {
        "device": authenticator(request.user),
        "codes_left": actions.recovery_codes_left(request.user),
        "required": required_for(request.user),
        "form": form,
    }
    return render(request, "twofactor/overview.html", context, status=status)


@login_required
def setup(request):
    if refusal := form_methods(request):
        return refusal
    if has_two_factor(request.user):
        messages.info(request, _("Two-factor login is already on for your account."))
        return redirect("twofactor:overview")
    device = actions.pending_authenticator(request.user)
    form = NewAuthenticatorForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                device, codes = actions.confirm_authenticator(
                    request.user, code=form.cleaned_data["code"]
                )
            except ActionError as error:
                show_action_error(form, error)
            else:
                otp_login(request, device)
                request.session.cycle_key()
                return _codes_page(request, codes)
        status = 400
    secret = device.config_url.split("secret=")[1].split("&")[0]
    return render(
        request,
        "twofactor/setup.html",
        {
            "form": form,
            "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)],
            "required": required_for(request.user),
            "next": request.GET.get("next", ""),
        },
        status=status,
    )


@login_required
def setup_qr(request):
    """The pending authenticator's key as a QR code (SVG), for the app to scan."""
    if refusal := read_only(request):
        return refusal
    if has_two_factor(request.user):
        raise Http404
    device = actions.pending_authenticator(request.user)
    buffer = io.BytesIO()
    segno.make(device.config_url, error="m").save(buffer, kind="svg", scale=5, border=2)
    response = HttpResponse(buffer.getvalue(), content_type="image/svg+xml")
    response["Cache-Control"] = "no-store"
    return response


def _locked_until(devices):
    waits = []
    for device in devices:
        allowed, data = device.verify_is_allowed()
        if not allowed and data and data.get("locked_until"):
            waits.append(data["locked_until"])
    return max(waits) if waits and len(waits) == len(devices) else None


@login_required
def verify(request):
    if refusal := form_methods(request):
        return refusal
    device = authenticator(request.user)
    if device is None:
        return _safe_next(request)
    if request.user.is_verified():
        return _safe_next(request)
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            code = form.cleaned_data["code"]
            recovery = StaticDevice.objects.filter(user=request.user).first()
            candidates = [device] if code.isdigit() else [d for d in [recovery] if d]
            until = _locked_until(candidates) if candidates else None
            matched = None
            if until is None:
                for candidate in candidates:
                    matched = verify_token(request.user, candidate.persistent_id, code)
                    if matched:
                        break
            if matched:
                otp_login(request, matched)
                request.session.cycle_key()
                if isinstance(matched, StaticDevice):
                    actions.note_recovery_code_used(request.user)
                    messages.warning(
                        request,
                        _("You used a recovery code; %(left)d left. Make new ones if few are left.")
                        % {"left": actions.recovery_codes_left(request.user)},
                    )
                return _safe_next(request)
            if until is not None:
                wait = max(1, int((until - timezone.now()).total_seconds()) + 1)
                form.add_error(
                    "code",
                    _("Too many wrong codes. Wait %(seconds)d seconds, then try again.")
                    % {"seconds": wait},
                )
            else:
                form.add_error("code", _("This code does not match. Type the current code."))
    return render(
        request,
        "twofactor/verify.html",
        {"form": form, "next": request.GET.get("next") or request.POST.get("next", "")},
        status=status,
    )


@login_required
def recovery_codes(request):
    if refusal := post_only(request):
        return refusal
    try:
        codes = actions.renew_recovery_codes(request.user)
    except ActionError as error:
        messages.error(request, str(error))
        return redirect("twofactor:overview")
    return _codes_page(request, codes)


@login_required
def turn_off(request):
    if refusal := post_only(request):
        return refusal
    form = CodeForm(request.POST)
    if form.is_valid():
        try:
            actions.turn_off(request.user, code=form.cleaned_data["code"])
        except ActionError as error:
            show_action_error(form, error)
        else:
            messages.success(request, _("Two-factor login is off."))
            return redirect("twofactor:overview")
    return _overview_page(request, form, status=400)


@login_required
def admin_reset(request, pk):
    """A sysadmin removes the authenticator of a user of his region (lost phone)."""
    if not is_sysadmin(request.user):
        raise Http404
    account = managed_users(request.user).filter(pk=pk).first()
    if account is None:
        raise Http404
    if refusal := post_only(request):
        return refusal
    try:
        actions.reset_by_administrator(account, by=request.user)
    except NotAllowed as error:
        return refused(request, str(error))
    except ActionError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _(
                "Two-factor login of %(user)s was reset; they set up a new authenticator at their next login."
            )
            % {"user": account},
        )
    return redirect("account_admin:user_detail", pk=account.pk)
