"""The dashboard and the test console: pages that talk to the socket like any client."""

from __future__ import annotations

from typing import Any

from django.views.generic import TemplateView

from apps.market.selectors import assets_active_list
from apps.portfolios.selectors import portfolios_of_user


class DashboardView(TemplateView):
    """Live prices of the active assets and, when logged in, the user's portfolios."""

    template_name = "realtime/dashboard.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context["assets"] = assets_active_list()
        context["portfolios"] = portfolios_of_user(user_id=user.pk) if user.is_authenticated else []
        return context


class TestConsoleView(TemplateView):
    """Send any message, see every frame: for checking a deployment by hand."""

    template_name = "realtime/test.html"
