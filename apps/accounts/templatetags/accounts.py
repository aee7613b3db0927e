"""Template tags for the page header: what it may offer to someone signed out."""

from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def signup_enabled() -> bool:
    """ACCOUNTS_SIGNUP_ENABLED, read per page so the header follows the setting."""
    return bool(settings.ACCOUNTS_SIGNUP_ENABLED)
