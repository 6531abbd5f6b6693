from ninja import NinjaAPI

api = NinjaAPI(title="Sbyt API", version="1", openapi_url="/openapi.json", urls_namespace="api")
