from tanso_runtime.app import serve

from .settings import Settings

serve("tanso_identity.main:create_app", Settings())
