"""The dashboard and the test console: pages that talk to the socket like any client."""

from __future__ import annotations

from typing import Any

from django.views.generic import TemplateView

from apps.market.models import Asset
from apps.portfolios.models import Portfolio


class DashboardView(TemplateView):
    """Live prices of the active assets and, when logged in, the user's portfolios."""

    template_name = "realtime/dashboard.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context["assets"] = list(
            Asset.objects.filter(is_active=True).values("symbol", "name", "asset_type", "currency")
        )
        context["portfolios"] = (
            list(Portfolio.objects.filter(owner=user).values("id", "name", "base_currency"))
            if user.is_authenticated
            else []
        )
        return context


class TestConsoleView(TemplateView):
    """Send any message, see every frame: for checking a deployment by hand."""

    template_name = "realtime/test.html"
