from django.db import models


class NewsItem(models.Model):
    """A news item staff publish in the admin; shown in the cabinet and on the public site (CAB-18)."""

    title = models.CharField("заголовок", max_length=200)
    body = models.TextField("текст")
    published_at = models.DateTimeField("опубликовано", null=True, blank=True, db_index=True)
    branch = models.ForeignKey(
        "customers.Branch", null=True, blank=True, on_delete=models.CASCADE, help_text="Пусто — для всех филиалов"
    )

    class Meta:
        verbose_name = "новость"
        verbose_name_plural = "новости"
        ordering = ["-published_at"]

    def __str__(self) -> str:
        return self.title
