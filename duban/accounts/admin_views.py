"""The system administrator's account pages: list, create, and one user's page with its forms.

Only system administrators reach them: others get 403 on the list and the create
page, and 404 on a user's page, as does a sysadmin for a user outside his region
or for an administrator's account (admin_actions.managed_users says why).
Every change goes through admin_actions.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from duban.core.exceptions import ActionError, NotAllowed
from duban.core.http import post_only, show_action_error
from duban.org.models import Membership

from . import admin_actions as actions
from .admin_forms import MembershipForm, SearchForm, UserCreateForm, UserEditForm

PAGE_SIZE = 50


def _refused(request, message, status=403):
    return render(request, "accounts/admin/refused.html", {"message": message}, status=status)


def _error_status(error: ActionError) -> int:
    return 403 if isinstance(error, NotAllowed) else 400


def _managed_user_or_404(request, pk):
    # Non-sysadmins and users outside the region look the same: not found.
    if not actions.is_sysadmin(request.user):
        raise Http404
    return get_object_or_404(actions.managed_users(request.user), pk=pk)


def _with_memberships(users):
    return users.prefetch_related(
        Prefetch(
            "memberships",
            queryset=Membership.objects.select_related("unit__region").order_by(
                "unit__name", "role"
            ),
        )
    )


@login_required
def user_list(request):
    if not actions.is_sysadmin(request.user):
        return _refused(request, _("Only system administrators manage accounts."))
    form = SearchForm(request.GET)
    users = actions.managed_users(request.user)
    query = form.cleaned_data["q"].strip() if form.is_valid() else ""
    if query:
        users = users.filter(Q(username__icontains=query) | Q(display_name__icontains=query))
    page = Paginator(_with_memberships(users).order_by("username"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    locked = actions.locked_usernames(u.username for u in page.object_list)
    rows = [(u, u.username in locked) for u in page.object_list]
    context = {"form": form, "page": page, "rows": rows, "query": query}
    return render(request, "accounts/admin/user_list.html", context)


@login_required
def user_create(request):
    if not actions.is_sysadmin(request.user):
        return _refused(request, _("Only system administrators manage accounts."))
    status = 200
    form = UserCreateForm(request.POST or None)
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                user, one_time_password, expires_at = actions.create_user(
                    by=request.user,
                    username=data["username"],
                    display_name=data["display_name"],
                    phone=data["phone"],
                    language=data["language"],
                )
            except ActionError as error:
                show_action_error(form, error)
                status = _error_status(error)
            else:
                messages.success(
                    request, _("Account %(name)s was created.") % {"name": user.username}
                )
                # The one-time password is shown in this response only, as after a reset.
                return _detail_page(
                    request,
                    user,
                    status=201,
                    extra={
                        "one_time_password": one_time_password,
                        "one_time_password_expires_at": expires_at,
                        "new_account": True,
                    },
                )
    return render(request, "accounts/admin/user_create.html", {"form": form}, status=status)


def _detail_page(request, account, *, status=200, extra=None, **forms):
    extra = extra or {}
    account = _with_memberships(type(account).objects.filter(pk=account.pk)).get()
    context = {
        "account": account,
        "role_conflicts": actions.held_conflicts(account.memberships.all()),
        "locked": bool(actions.locked_usernames([account.username])),
        "failures": actions.login_failures([account.username]).get(account.username, 0),
        "edit_form": forms.get("edit_form")
        or UserEditForm(
            initial={
                "display_name": account.display_name,
                "phone": account.phone,
                "language": account.language,
                "is_active": account.is_active,
            }
        ),
        "membership_form": forms.get("membership_form")
        or MembershipForm(units=actions.managed_units(request.user)),
        "one_time_password_hours": settings.DUBAN_ONE_TIME_PASSWORD_HOURS,
        **extra,
    }
    return render(request, "accounts/admin/user_detail.html", context, status=status)


@login_required
def user_detail(request, pk):
    """The user's page; a POST saves the profile form (name, phone, language, active)."""
    account = _managed_user_or_404(request, pk)
    if request.method != "POST":
        return _detail_page(request, account)
    form = UserEditForm(request.POST)
    if form.is_valid():
        try:
            actions.update_user(account, by=request.user, **form.cleaned_data)
        except ActionError as error:
            show_action_error(form, error)
            return _detail_page(request, account, edit_form=form, status=_error_status(error))
        messages.success(request, _("The account was saved."))
        return redirect("account_admin:user_detail", pk=account.pk)
    return _detail_page(request, account, edit_form=form, status=400)


@login_required
def membership_add(request, pk):
    account = _managed_user_or_404(request, pk)
    if refusal := post_only(request):
        return refusal
    form = MembershipForm(request.POST, units=actions.managed_units(request.user))
    if form.is_valid():
        try:
            actions.add_membership(account, by=request.user, **form.cleaned_data)
        except ActionError as error:
            show_action_error(form, error)
            return _detail_page(request, account, membership_form=form, status=_error_status(error))
        if not actions.managed_users(request.user).filter(pk=account.pk).exists():
            # An administrator now: his account leaves this page's reach, so back to the list.
            messages.success(
                request,
                _(
                    "The role was granted. %(user)s is now an administrator, whose account is "
                    "no longer managed here."
                )
                % {"user": account},
            )
            return redirect("account_admin:user_list")
        messages.success(request, _("The role was granted."))
        return redirect("account_admin:user_detail", pk=account.pk)
    return _detail_page(request, account, membership_form=form, status=400)


@login_required
def membership_remove(request, pk, membership_pk):
    account = _managed_user_or_404(request, pk)
    membership = get_object_or_404(
        Membership.objects.select_related("unit"), pk=membership_pk, user=account
    )
    if refusal := post_only(request):
        return refusal
    try:
        actions.remove_membership(membership, by=request.user)
    except ActionError as error:
        messages.error(request, str(error))
        return _detail_page(request, account, status=_error_status(error))
    messages.success(request, _("The role was removed."))
    return redirect("account_admin:user_detail", pk=account.pk)


@login_required
def password_reset(request, pk):
    account = _managed_user_or_404(request, pk)
    if refusal := post_only(request):
        return refusal
    try:
        one_time_password, expires_at, deleted = actions.reset_password(account, by=request.user)
    except ActionError as error:
        messages.error(request, str(error))
        return _detail_page(request, account, status=_error_status(error))
    # Shown in this response only, like a new API token: no redirect, nothing in the session.
    return _detail_page(
        request,
        account,
        extra={
            "one_time_password": one_time_password,
            "one_time_password_expires_at": expires_at,
            "api_tokens_deleted": deleted,
        },
    )


@login_required
def unlock(request, pk):
    account = _managed_user_or_404(request, pk)
    if refusal := post_only(request):
        return refusal
    try:
        actions.unlock(account, by=request.user)
    except ActionError as error:
        messages.error(request, str(error))
        return _detail_page(request, account, status=_error_status(error))
    messages.success(request, _("The account was unlocked."))
    return redirect("account_admin:user_detail", pk=account.pk)
