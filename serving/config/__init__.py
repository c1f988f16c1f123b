"""Typed platform config: one pydantic model read from the stack config key `serving:platform`."""

from .base import Issue, Secret, StrictModel
from .cluster import ClusterConfig, EksConfig, ExistingClusterConfig, GpuPoolConfig, NodePoolConfig, NodePoolsConfig, Taint
from .gateway import GatewayConfig, TlsConfig
from .loader import ConfigError, format_loc, json_schema, load_platform_config, parse_platform, validate_stack_file
from .models import ModelConfig, TeamConfig
from .monitoring import MonitoringConfig
from .platform import PlatformConfig

__all__ = [
    "ClusterConfig", "ConfigError", "EksConfig", "ExistingClusterConfig", "GatewayConfig", "GpuPoolConfig", "Issue",
    "ModelConfig", "MonitoringConfig", "NodePoolConfig", "NodePoolsConfig", "PlatformConfig", "Secret", "StrictModel",
    "Taint", "TeamConfig", "TlsConfig", "format_loc", "json_schema", "load_platform_config", "parse_platform",
    "validate_stack_file",
]
