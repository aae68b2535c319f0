"""A stand-in service process for Platform tests: health endpoints and one OpenAPI path.

Started as ``python -m fake_service``; it finds its port in ``TANSO_<SERVICE>_HTTP__PORT``.
"""

import os
import re

import uvicorn
from fastapi import FastAPI

[(var, port)] = [(k, v) for k, v in os.environ.items() if re.fullmatch(r"TANSO_[A-Z_]+_HTTP__PORT", k)]
name = var.removeprefix("TANSO_").removesuffix("_HTTP__PORT").lower().replace("_", "-")
app = FastAPI(title=f"fake {name}")


@app.get("/health/ready")
async def ready() -> dict:
    return {"status": "ready", "checks": {"fake": True}}


@app.get("/hello")
async def hello() -> dict:
    return {"service": name}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(port), log_level="warning")
