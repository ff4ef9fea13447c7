// The engine's version, exposed as cnnrt._engine.version (kept in step with pyproject.toml).
#pragma once
#define CNNRT_VERSION "0.1.0"
