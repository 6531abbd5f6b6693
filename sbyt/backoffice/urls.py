from django.urls import path

from . import views

app_name = "backoffice"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.StaffLoginView.as_view(), name="login"),
    path("logout/", views.StaffLogoutView.as_view(), name="logout"),
    path("readings/held/", views.held_list, name="held_readings"),
    path("readings/<int:pk>/approve/", views.approve, name="approve_reading"),
    path("readings/<int:pk>/reject/", views.reject, name="reject_reading"),
    path("clients/", views.client_search, name="client_search"),
    path("clients/<str:number>/", views.client_card, name="client_card"),
    path("clients/<str:number>/password/", views.issue_password, name="issue_password"),
]
