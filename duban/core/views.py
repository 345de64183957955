from django.db import connection
from django.http import HttpResponse
from django.shortcuts import redirect

from duban.org.scope import has_business_role


def home(request):
    if not request.user.is_authenticated:
        return redirect("login")
    if has_business_role(request.user):
        return redirect("ledger:problem_list")
    return redirect("accounts:profile")


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")
