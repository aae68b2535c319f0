from tanso_runtime.app import serve

from .settings import Settings

serve("tanso_calculation.main:create_app", Settings())
