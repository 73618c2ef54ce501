"""Settings of one sandbox instance (shared by the CLI and in-process use)."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_DATA_PATH = "var/iotpay-sandbox.sqlite3"


@dataclass
class SandboxConfig:
    """Everything a running sandbox needs; times are in seconds.

    ``merchants`` maps mchId to its signing key. ``port`` 0 picks a free port (read it back from
    ``RunningSandbox.port``). ``data_path`` may be ``":memory:"`` for a throw-away sandbox.
    """

    host: str = "127.0.0.1"
    port: int = 0
    merchants: dict[str, str] = field(default_factory=dict)
    think_time: float = 2.0
    data_path: str = DEFAULT_DATA_PATH
    late_delay: float = 130.0
    hang_time: float = 600.0
    interactive_timeout: float = 120.0
    outage_time: float = 30.0
    idle_timeout: float = 60.0
    idle_race: float = 0.0
    verbose: bool = False

    def __repr__(self) -> str:
        # Keys never reach a log line, even through a repr in a traceback.
        return (
            f"SandboxConfig(host={self.host!r}, port={self.port}, merchants={sorted(self.merchants)!r}, "
            f"think_time={self.think_time}, data_path={self.data_path!r}, late_delay={self.late_delay}, "
            f"hang_time={self.hang_time}, interactive_timeout={self.interactive_timeout}, "
            f"outage_time={self.outage_time}, idle_timeout={self.idle_timeout}, idle_race={self.idle_race}, "
            f"verbose={self.verbose})"
        )
