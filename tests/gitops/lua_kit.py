"""Argo CD's health checks in Lua, run as Argo CD runs them: Lua 5.1 with `obj` set to the resource (as
cjson decodes it) and the script's returned table as the health."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from support import required_tool

ROOT = Path(__file__).resolve().parents[2]
CHECKS = ROOT / "helm" / "argocd" / "resource_customizations" / "baton.dev"
HARNESS = """
local cjson = require "cjson"
obj = cjson.decode(io.read("*a"))
local hs = dofile(os.getenv("HEALTH_LUA"))
io.write(cjson.encode({status = hs.status, message = hs.message}))
"""


def lua() -> str:
    return required_tool(
        shutil.which("lua5.1"), "lua5.1 is not installed (make tools: apt-get install lua5.1 lua-cjson)"
    )


def health(kind: str, obj: dict[str, Any]) -> dict[str, str]:
    """What Argo CD would show for ``obj`` of ``kind`` (Pipeline or PipelineRun)."""
    result = subprocess.run(
        [lua(), "-e", HARNESS],
        input=json.dumps(obj),
        env={**os.environ, "HEALTH_LUA": str(CHECKS / kind / "health.lua")},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    answer: dict[str, str] = json.loads(result.stdout)
    return answer
