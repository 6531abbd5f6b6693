from ninja import NinjaAPI

from . import accounts, auth, billing, cases, errors, payments

api = NinjaAPI(
    title="Sbyt API",
    version="1",
    description="API v1 of the mobile app: log in, accounts, contracts, meters, readings.",
    openapi_url="/openapi.json",
    docs_url=None,  # the Swagger page loads its scripts from a CDN; the schema above is what the app needs
    urls_namespace="api",
    auth=auth.BearerToken(),
    parser=errors.JsonParser(),
    renderer=errors.Utf8JsonRenderer(),
)
errors.install(api)
api.add_router("/auth", auth.router)
api.add_router("/accounts", accounts.router)
api.add_router("/cases", cases.router)
api.add_router("/payments", payments.router)
api.add_router("/billing", billing.router)
