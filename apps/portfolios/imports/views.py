"""The import and export pages of one portfolio: upload -> dry-run report -> apply, and the
CSV export.

Login required; another user's portfolio is a 404 for every method, as on the portfolio
pages. The upload is async: symbols new to the site wait (in a thread of their own) for a
worker to look them up, and under ASGI every sync view shares one thread.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import messages
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.text import slugify
from django.views import View
from redis.exceptions import RedisError

from apps.market.requests import LookupStatus, SymbolCheck, assets_lookup_request
from apps.portfolios.imports.export import positions_csv_export
from apps.portfolios.imports.formats import FORMATS, ImportFormat
from apps.portfolios.imports.forms import ImportForm
from apps.portfolios.imports.parsed import ParsedFile
from apps.portfolios.imports.parsing import import_file_read, import_text_parse
from apps.portfolios.imports.pending import (
    PENDING_SECONDS,
    PendingImport,
    pending_import_drop,
    pending_import_get,
    pending_import_keep,
    pending_import_renew,
)
from apps.portfolios.imports.plan import (
    MODE_LABELS,
    ImportMode,
    ImportPlan,
    import_plan_build,
    symbols_unknown,
)
from apps.portfolios.imports.reading import MAX_BYTES, ImportFileError
from apps.portfolios.imports.services import ImportNotApplicable, import_apply
from apps.portfolios.models import Portfolio
from apps.portfolios.ownership import PortfolioOwnerAsync, PortfolioOwnerMixin

logger = logging.getLogger("personal_finance.portfolios.imports")

# A file's new symbols are looked up in one request, at most this many (the rest are
# reported as not known here); the page waits at most SYMBOL_LOOKUP_WAIT_SECONDS.
LOOKUP_MAX_SYMBOLS = 50
FORM_TEMPLATE = "portfolios/import.html"
REPORT_TEMPLATE = "portfolios/import_report.html"


def _form_page(
    request: HttpRequest, portfolio: Portfolio, form: ImportForm, **extra: Any
) -> HttpResponse:
    context = {"portfolio": portfolio, "form": form, "formats": FORMATS, **extra}
    return render(request, FORM_TEMPLATE, context)


def _report_page(
    request: HttpRequest, portfolio: Portfolio, plan: ImportPlan, **extra: Any
) -> HttpResponse:
    return render(request, REPORT_TEMPLATE, {
        "portfolio": portfolio, "plan": plan, "mode_label": MODE_LABELS[plan.mode],
        "kept_minutes": PENDING_SECONDS // 60, **extra,
    })  # fmt: skip


class PortfolioImportView(PortfolioOwnerAsync, View):
    """GET: the upload form. POST: the dry run's report; nothing is saved."""

    async def get(self, request: HttpRequest, portfolio_id: int) -> HttpResponseBase:
        if refused := await self._admit(request, portfolio_id):
            return refused
        return await sync_to_async(_form_page)(request, self.portfolio, ImportForm())

    async def post(self, request: HttpRequest, portfolio_id: int) -> HttpResponseBase:
        if refused := await self._admit(request, portfolio_id):
            return refused
        form = ImportForm(request.POST, request.FILES)
        if not await sync_to_async(form.is_valid)():
            return await sync_to_async(_form_page)(request, self.portfolio, form)
        upload = form.cleaned_data["file"]
        try:
            text, parsed = await asyncio.to_thread(
                import_file_read, upload.read(MAX_BYTES + 1), chosen=form.chosen_format
            )
        except ImportFileError as error:
            form.add_error("file", error.message)
            return await sync_to_async(_form_page)(
                request, self.portfolio, form, details=error.details
            )
        checks = await self._symbols_look_up(parsed)
        return await sync_to_async(self._report)(
            request, form, str(upload.name or "the file"), text, parsed, checks
        )

    @staticmethod
    async def _symbols_look_up(parsed: ParsedFile) -> dict[str, SymbolCheck]:
        """One lookup request for every symbol of the file that no asset has yet."""
        unknown = await sync_to_async(symbols_unknown)(parsed.symbols)
        if not unknown:
            return {}
        asked = unknown[:LOOKUP_MAX_SYMBOLS]
        checks = await asyncio.to_thread(
            assets_lookup_request, symbols=asked, timeout=settings.SYMBOL_LOOKUP_WAIT_SECONDS
        )
        too_many = SymbolCheck(
            LookupStatus.FAILED,
            f"only the first {LOOKUP_MAX_SYMBOLS} new symbols of a file are looked up",
        )
        return {**checks, **dict.fromkeys(unknown[LOOKUP_MAX_SYMBOLS:], too_many)}

    def _report(
        self,
        request: HttpRequest,
        form: ImportForm,
        filename: str,
        text: str,
        parsed: ParsedFile,
        checks: dict[str, SymbolCheck],
    ) -> HttpResponse:
        plan = import_plan_build(
            portfolio_id=self.portfolio.pk, parsed=parsed, mode=form.chosen_mode, checks=checks
        )
        token, notice = None, None
        if plan.can_apply:
            pending = PendingImport(
                portfolio_id=self.portfolio.pk, user_id=int(request.user.pk or 0),
                format=parsed.spec.format.value, mode=plan.mode.value, filename=filename,
                text=text, fingerprint=plan.fingerprint,
            )  # fmt: skip
            try:
                token = pending_import_keep(request.session, pending)
            except (RedisError, OSError) as error:
                logger.warning("import of portfolio %s not kept: %s", self.portfolio.pk, error)
                notice = "This report could not be kept for applying (the cache did not answer): "
                notice += "upload the file again in a moment."
        return _report_page(
            request, self.portfolio, plan, token=token, filename=filename, notice=notice
        )


class PortfolioImportApplyView(PortfolioOwnerMixin, View):
    """POST: apply the report this session was shown, in one transaction, or nothing."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, portfolio_id: int) -> HttpResponseBase:
        token = str(request.POST.get("token", ""))
        user_id = int(request.user.pk or 0)
        pending = pending_import_get(
            request.session, token, portfolio_id=self.portfolio.pk, user_id=user_id
        )
        if pending is None:
            notice = (
                f"That report has expired (one is kept {PENDING_SECONDS // 60} minutes) or was "
                "applied already: nothing was saved. Upload the file again to check it."
            )
            return _form_page(request, self.portfolio, ImportForm(), notice=notice)
        parsed = import_text_parse(pending.text, chosen=ImportFormat(pending.format))
        mode = ImportMode(pending.mode)
        try:
            plan = import_apply(
                portfolio_id=self.portfolio.pk,
                parsed=parsed,
                mode=mode,
                fingerprint=pending.fingerprint,
            )
        except ImportNotApplicable as changed:
            return self._changed(request, token, pending, changed.plan)
        except DatabaseError as error:
            logger.warning("import into portfolio %s failed: %r", self.portfolio.pk, error)
            plan = import_plan_build(portfolio_id=self.portfolio.pk, parsed=parsed, mode=mode)
            notice = (
                "Nothing was saved: the database refused the import "
                f"({type(error).__name__}). No position was changed; you may apply it again."
            )
            return _report_page(request, self.portfolio, plan, token=token,
                                filename=pending.filename, notice=notice)  # fmt: skip
        pending_import_drop(request.session, token)
        messages.success(
            request,
            f"Imported {pending.filename}: {len(plan.created)} position(s) created, "
            f"{len(plan.changed)} changed.",
        )
        return redirect("portfolio-detail", portfolio_id=self.portfolio.pk)

    def _changed(
        self, request: HttpRequest, token: str, pending: PendingImport, plan: ImportPlan
    ) -> HttpResponse:
        """The portfolio (or an asset) changed since the report: show the new one, applicable
        under the same token if it still can be."""
        if plan.can_apply:
            pending_import_renew(token, replace(pending, fingerprint=plan.fingerprint))
        else:
            pending_import_drop(request.session, token)
            token = ""
        notice = (
            "Nothing was saved: the portfolio changed since the report you saw. This is the "
            "report for it now; check it and apply again."
        )
        return _report_page(request, self.portfolio, plan, token=token or None,
                            filename=pending.filename, notice=notice)  # fmt: skip


class PortfolioExportView(PortfolioOwnerMixin, View):
    """GET: the portfolio's positions as a CSV file in our own import format."""

    http_method_names = ["get", "head"]

    def get(self, request: HttpRequest, portfolio_id: int) -> HttpResponse:
        body = positions_csv_export(portfolio_id=self.portfolio.pk)
        name = slugify(self.portfolio.name) or f"portfolio-{self.portfolio.pk}"
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}-positions.csv"'
        response["Cache-Control"] = "private, no-store"
        return response
