class SecureCookiesOverHttpsMiddleware:
    """Mark every cookie Secure when the request came over HTTPS.

    DUBAN_HTTPS=true does this from settings in production; this also covers a
    deployment that serves both, so a cookie set over HTTPS never travels in clear.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.is_secure():
            for cookie in response.cookies.values():
                cookie["secure"] = True
        return response
