"""The inbox, a person's notification settings, and the office's page for units' group robots."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, Value, When
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from duban.core.exceptions import ActionError
from duban.core.http import post_only, refused
from duban.org.models import Membership

from . import actions, delivery
from .forms import PreferenceForm, RobotForm
from .models import Preference, Robot
from .selectors import (
    get_notification_for_user,
    get_robot_for_user,
    is_office,
    own_notifications,
    robot_units_for,
    robots_for,
)

PAGE_SIZE = 50


@login_required
def inbox(request):
    show_unread = request.GET.get("show") == "unread"
    notifications = own_notifications(request.user).select_related("problem")
    if show_unread:
        notifications = notifications.filter(read_at__isnull=True)
    notifications = notifications.annotate(
        read=Case(
            When(read_at__isnull=True, then=Value(0)), default=Value(1), output_field=IntegerField()
        )
    ).order_by("read", "-created_at", "-id")
    page = Paginator(notifications, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "notify/inbox.html",
        {
            "page": page,
            "show_unread": show_unread,
            "unread_count": own_notifications(request.user).filter(read_at__isnull=True).count(),
        },
    )


def _back(request):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("notify:inbox")


@login_required
def mark_read(request, pk):
    notification = get_notification_for_user(request.user, pk)
    if refusal := post_only(request):
        return refusal
    actions.mark_read(notification, by=request.user)
    if request.POST.get("open") and url_has_allowed_host_and_scheme(
        notification.url, allowed_hosts={request.get_host()}
    ):
        return redirect(notification.url or "notify:inbox")
    return _back(request)


@login_required
@require_POST
def mark_all_read(request):
    count = actions.mark_all_read(by=request.user)
    messages.success(request, _("%(count)d notifications marked read.") % {"count": count})
    return _back(request)


@login_required
def preferences(request):
    pref = Preference.objects.filter(user=request.user).first() or Preference(user=request.user)
    form = PreferenceForm(request.POST or None, instance=pref)
    if request.method == "POST" and form.is_valid():
        actions.save_preference(by=request.user, **form.cleaned_data)
        messages.success(request, _("Your notification settings were saved."))
        return redirect("notify:preferences")
    units = Membership.objects.filter(user=request.user).values("unit")
    return render(
        request,
        "notify/preferences.html",
        {
            "form": form,
            "email_configured": bool(settings.EMAIL_HOST),
            "robots": Robot.objects.filter(unit__in=units, active=True).select_related("unit"),
            "is_office": is_office(request.user),
        },
        status=400 if form.errors else 200,
    )


@login_required
def robot_list(request):
    if not is_office(request.user):
        return refused(request, _("Only rectification office staff set up group robots."))
    form = RobotForm(request.POST or None, units=robot_units_for(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            robot = actions.save_robot(form.instance, by=request.user, secret=form.secret_value())
        except ActionError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Robot %(name)s was added.") % {"name": robot})
            return redirect("notify:robot_list")
    return render(
        request,
        "notify/robot_list.html",
        {"form": form, "robots": robots_for(request.user)},
        status=400 if form.errors else 200,
    )


@login_required
def robot_edit(request, pk):
    robot = get_robot_for_user(request.user, pk)
    form = RobotForm(request.POST or None, instance=robot, units=robot_units_for(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            actions.save_robot(form.instance, by=request.user, secret=form.secret_value())
        except ActionError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Robot %(name)s was saved.") % {"name": robot})
            return redirect("notify:robot_list")
    robot.refresh_from_db()  # show what is stored, not the rejected input
    return render(
        request,
        "notify/robot_edit.html",
        {"form": form, "robot": robot},
        status=400 if form.errors else 200,
    )


@login_required
def robot_delete(request, pk):
    robot = get_robot_for_user(request.user, pk)
    if refusal := post_only(request):
        return refusal
    name = str(robot)
    actions.delete_robot(robot, by=request.user)
    messages.success(request, _("Robot %(name)s was removed.") % {"name": name})
    return redirect("notify:robot_list")


@login_required
def robot_test(request, pk):
    """Post a test message to the group now, so the office sees the robot works."""
    robot = get_robot_for_user(request.user, pk)
    if refusal := post_only(request):
        return refusal
    message = delivery.Message(
        title=_("Duban test message"),
        text=_("This group will receive Duban notifications."),
        markdown="#### "
        + _("Duban test message")
        + "\n\n"
        + _("This group will receive Duban notifications."),
    )
    try:
        delivery.send_robot(robot, message)
    except delivery.SendError as error:
        messages.error(
            request,
            _("The robot could not post: %(error)s")
            % {"error": delivery._scrub(str(error), robot)},
        )
    else:
        messages.success(
            request, _("A test message was posted to the group of %(unit)s.") % {"unit": robot.unit}
        )
    return redirect("notify:robot_list")
