from django.contrib import admin

from apps.alerts.models import Alert, AlertEvent


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("owner", "asset", "portfolio", "condition", "threshold", "state", "paused")
    list_filter = ("condition", "state", "paused")
    raw_id_fields = ("owner", "asset", "portfolio")


@admin.register(AlertEvent)
class AlertEventAdmin(admin.ModelAdmin):
    list_display = ("fired_at", "owner", "message")
    raw_id_fields = ("owner", "alert")
