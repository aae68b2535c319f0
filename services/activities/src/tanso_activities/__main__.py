from tanso_runtime.app import serve

from .settings import Settings

serve("tanso_activities.main:create_app", Settings())
