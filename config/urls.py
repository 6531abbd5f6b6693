from django.contrib import admin
from django.urls import include, path

from sbyt.api.urls import api

admin.site.site_header = "Sbyt — администрирование"
admin.site.site_title = "Sbyt"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("staff/", include("sbyt.backoffice.urls")),
    path("", include("sbyt.portal.urls")),
]
