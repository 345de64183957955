from django.contrib.auth import views as auth_views
from django.urls import path

app_name = "accounts"

urlpatterns = []

# The login and logout views live at the project level under the names Django expects.
login_urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
