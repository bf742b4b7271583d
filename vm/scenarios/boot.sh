# scx-meta: agent=no timeout=90
# boot: no agent. Proves the harness (kernel, initramfs, results channel) and that the kernel
# exposes sched_ext.
record_env
fact state_after "$(scx_state)"
fact sched_ext_root_present "$([ -d $SCX_SYS/root ] && echo yes || echo no)"
