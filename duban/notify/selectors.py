"""What a user may read in this app: his own notifications; for office staff, their units' robots."""

from django.shortcuts import get_object_or_404

from duban.org.models import Role, Unit
from duban.org.scope import region_paths, roles_of, under_any

from .models import Notification, Robot


def own_notifications(user):
    return Notification.objects.filter(recipient=user)


def get_notification_for_user(user, pk) -> Notification:
    """Someone else's notification answers 404, like anything out of scope."""
    return get_object_or_404(own_notifications(user), pk=pk)


def is_office(user) -> bool:
    return Role.OFFICE in roles_of(user)


def robot_units_for(user):
    """Units whose robots the user sets up: office staff, units in their region subtree."""
    return Unit.objects.filter(under_any("region__path", region_paths(user, Role.OFFICE)))


def robots_for(user):
    return Robot.objects.filter(unit__in=robot_units_for(user)).select_related("unit")


def get_robot_for_user(user, pk) -> Robot:
    return get_object_or_404(robots_for(user), pk=pk)
