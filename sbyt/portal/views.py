from django.http import HttpResponse


def index(request):
    return HttpResponse("Sbyt")


def home(request):
    return HttpResponse("cabinet")
