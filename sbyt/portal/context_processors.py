from django.conf import settings


def site(request):
    return {"SITE_NAME": getattr(settings, "SBYT_SITE_NAME", "Энергосбыт")}
