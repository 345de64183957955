from django.conf import settings
from django.utils import translation


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
