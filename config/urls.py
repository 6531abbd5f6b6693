from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from sbyt.api import channels
from sbyt.api.urls import api

admin.site.site_header = "Sbyt — администрирование"
admin.site.site_title = "Sbyt"

urlpatterns = [
    # One staff login, rate limited: the admin's own login page would be a second, unlimited one.
    path("admin/login/", RedirectView.as_view(pattern_name="backoffice:login", query_string=True)),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("channels/sms/kannel", channels.sms_kannel, name="channel-sms-kannel"),
    path("channels/sms/webhook", channels.sms_webhook, name="channel-sms-webhook"),
    path("channels/", include("sbyt.api.telegram_vk")),
    path("channels/", include("sbyt.api.viber_whatsapp")),
    path("staff/", include("sbyt.backoffice.urls")),
    path("", include("sbyt.portal.urls")),
]
