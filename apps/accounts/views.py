"""Sign-up: Django's UserCreationForm, open only when the operator turns it on."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.forms import UserCreationForm
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic.edit import FormView

# The backend that checked the password: login() must be told when there are several.
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


@method_decorator([sensitive_post_parameters("password1", "password2"), never_cache], "dispatch")
class SignUpView(FormView):
    """A new account, signed in at once; 404 unless ACCOUNTS_SIGNUP_ENABLED."""

    form_class = UserCreationForm
    template_name = "accounts/signup.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not settings.ACCOUNTS_SIGNUP_ENABLED:
            raise Http404("Sign-up is off on this site: ask its operator for an account.")
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form: UserCreationForm) -> HttpResponse:
        user = form.save()
        login(self.request, user, backend=MODEL_BACKEND)
        return HttpResponseRedirect(resolve_url(settings.LOGIN_REDIRECT_URL))
