"""Host-side helpers of the scx_oracle QEMU test harness (stdlib only)."""
