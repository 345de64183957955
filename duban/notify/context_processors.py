"""The unread count in the navigation, for every logged-in user."""

from django.utils.functional import SimpleLazyObject


def unread_notifications(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def count():
        from .models import Notification

        return Notification.objects.filter(recipient=user, read_at__isnull=True).count()

    # Lazy: pages that do not show the navigation run no query.
    return {"unread_notifications": SimpleLazyObject(count)}
