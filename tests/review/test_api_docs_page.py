"""Nothing is loaded from the internet at run time: django-ninja's Swagger page pulls its scripts from a CDN
(third-party JavaScript on our origin, where it could act with a visitor's session). The API offers its
OpenAPI schema only."""

import pytest

pytestmark = pytest.mark.django_db


def test_no_page_of_the_api_loads_scripts_from_a_cdn(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 404 or "cdn." not in response.content.decode()


def test_the_openapi_schema_is_still_served(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Sbyt API"
