from django.urls import path

from . import appointments_urls, billing_urls, cases_urls, office_reports_urls, payments_urls, queue_urls, views

app_name = "backoffice"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.StaffLoginView.as_view(), name="login"),
    path("logout/", views.StaffLogoutView.as_view(), name="logout"),
    path("readings/held/", views.held_list, name="held_readings"),
    path("readings/<int:pk>/approve/", views.approve, name="approve_reading"),
    path("readings/<int:pk>/reject/", views.reject, name="reject_reading"),
    path("voice/", views.voice_queue, name="voice_queue"),
    path("voice/<int:pk>/", views.voice_message, name="voice_message"),
    path("voice/<int:pk>/recording/", views.voice_recording, name="voice_recording"),
    path("voice/<int:pk>/take/", views.voice_take, name="voice_take"),
    path("voice/<int:pk>/release/", views.voice_release, name="voice_release"),
    path("voice/<int:pk>/readings/", views.voice_readings, name="voice_readings"),
    path("voice/<int:pk>/done/", views.voice_done, name="voice_done"),
    path("voice/<int:pk>/reject/", views.voice_reject, name="voice_reject"),
    path("clients/", views.client_search, name="client_search"),
    path("clients/<str:number>/", views.client_card, name="client_card"),
    path("clients/<str:number>/password/", views.issue_password, name="issue_password"),
]

# Offices: the window console, appointments, queue statistics and the complaints book.
for _module in (queue_urls, appointments_urls, office_reports_urls):
    urlpatterns += _module.urlpatterns

# Billing (runs, tariffs, bills) and cases (appeals and applications, the staff workspace).
for _module in (billing_urls, cases_urls, payments_urls):
    urlpatterns += _module.urlpatterns
