from tanso_runtime.app import serve

from .settings import Settings

serve("tanso_supplier_exchange.main:create_app", Settings())
