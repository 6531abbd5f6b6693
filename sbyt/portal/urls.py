from django.contrib.auth.views import LogoutView
from django.urls import path, register_converter

from . import billing_urls, booking_urls, cases_urls, hall_urls, offices_urls, payments_urls, smart_office_urls, views


class ClientNumberConverter:
    """A client number in a URL: digits only, so it never shadows the cabinet's own pages."""

    regex = r"\d{4,20}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value) -> str:
        return str(value)


register_converter(ClientNumberConverter, "client_number")

app_name = "portal"
urlpatterns = [
    path("", views.index, name="index"),
    path("register/", views.register, name="register"),
    path("register/code/", views.register_code, name="register_code"),
    path("login/", views.login_view, name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("recover/", views.recover, name="recover"),
    path("recover/done/", views.recover_done, name="recover_done"),
    path("readings/", views.public_readings, name="public_readings"),
    path("readings/enter/", views.public_readings_enter, name="public_readings_enter"),
    path("cabinet/", views.home, name="home"),
    path("cabinet/settings/", views.settings_view, name="settings"),
    path("cabinet/link/", views.link, name="link"),
    path("cabinet/link/code/", views.link_code, name="link_code"),
    path("cabinet/<client_number:number>/", views.account_detail, name="account"),
    path("cabinet/<client_number:number>/meters/<int:meter_id>/", views.meter_history, name="meter"),
    path("cabinet/<client_number:number>/readings/", views.readings, name="readings"),
]

# Offices: the directory, booking a visit, the hall's kiosk and display, the smart-office mode.
for _module in (offices_urls, booking_urls, hall_urls, smart_office_urls):
    urlpatterns += _module.urlpatterns

# Billing (balances, charges, bills) and cases (appeals and applications).
for _module in (billing_urls, cases_urls, payments_urls):
    urlpatterns += _module.urlpatterns
