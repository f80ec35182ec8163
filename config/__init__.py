"""Settings read from the environment, one class per environment.

The policy files (routing rules, SLA policies) live beside this module as YAML so
an administrator can edit them without touching code; they are validated at
start-up.
"""
from config.settings import (
    BaseConfig,
    DevelopmentConfig,
    ProductionConfig,
    TestingConfig,
    config_for,
)

__all__ = ["BaseConfig", "DevelopmentConfig", "ProductionConfig", "TestingConfig", "config_for"]
