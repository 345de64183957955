from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from duban.core.errors import is_api


class UserLanguageMiddleware:
    """Activate the logged-in user's language (Chinese by default)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            language = user.language
        else:
            language = request.session.get("language") if hasattr(request, "session") else None
        # Chinese unless the person chose otherwise: offices share machines whose
        # browsers often say "en".
        language = language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        # The language is a property of this request only: restore the thread's
        # previous one afterwards so it cannot leak into whatever runs next on
        # the same thread (another request, a task, a test).
        with translation.override(language):
            request.LANGUAGE_CODE = translation.get_language()
            response = self.get_response(request)
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        return response


class PasswordChangeRequiredMiddleware:
    """After a login with a one-time password, every page leads to the password change.

    The one-time password comes from an administrator's reset: whoever holds it (the user,
    or the administrator who saw it) may do nothing as the user but set a new password,
    which the user then notices. Logging out and switching the language stay open.
    """

    ALLOWED = ("accounts:password_change", "logout", "accounts:set_language")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.must_change_password:
            if request.path.startswith(settings.STATIC_URL):
                return self.get_response(request)
            target = reverse("accounts:password_change")
            if request.path not in {reverse(name) for name in self.ALLOWED}:
                if is_api(request):
                    return JsonResponse(
                        {"detail": gettext("Set a new password first.")}, status=403
                    )
                return redirect(target)
        return self.get_response(request)
