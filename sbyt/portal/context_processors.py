from django.conf import settings
from django.core.cache import cache
from django.utils.functional import SimpleLazyObject

from sbyt.customers.models import Branch

CONTACT_PHONES_CACHE_KEY = "portal:contact_phones"


def _contact_phones() -> list[str]:
    """The contact-centre numbers printed in the footer: the setting if given, else the first branch's."""
    configured = getattr(settings, "SBYT_CONTACT_PHONES", "")
    if configured:
        return [p.strip() for p in configured.split(",") if p.strip()]
    phones = cache.get(CONTACT_PHONES_CACHE_KEY)
    if phones is None:
        branch = Branch.objects.exclude(contact_phones="").order_by("code").first()
        phones = branch.phones if branch else []
        cache.set(CONTACT_PHONES_CACHE_KEY, phones, 300)
    return phones


def site(request):
    return {
        "SITE_NAME": getattr(settings, "SBYT_SITE_NAME", "Энергосбыт"),
        "CONTACT_PHONES": SimpleLazyObject(_contact_phones),
    }
