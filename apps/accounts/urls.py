"""/accounts/: sign in and out, change a password, sign up (when on): Django's own views."""

from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from apps.accounts.views import SignUpView

app_name = "accounts"

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="accounts/login.html"),
        name="login",
    ),
    # Django 5: POST only, so a link or an image on another site cannot sign anyone out.
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Not the `registration/` names: the admin renders those for its own password pages.
    path(
        "password_change/",
        auth_views.PasswordChangeView.as_view(
            template_name="accounts/password_change_form.html",
            success_url=reverse_lazy("accounts:password_change_done"),
        ),
        name="password_change",
    ),
    path(
        "password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(
            template_name="accounts/password_change_done.html"
        ),
        name="password_change_done",
    ),
    path("signup/", SignUpView.as_view(), name="signup"),
]
