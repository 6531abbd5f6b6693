from django.contrib import admin

from .models import NewsItem


@admin.register(NewsItem)
class NewsItemAdmin(admin.ModelAdmin):
    list_display = ["title", "published_at", "branch"]
    list_filter = ["branch"]
    search_fields = ["title", "body"]
