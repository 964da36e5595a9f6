/**
 * The host side of a microVM worker: QEMU. {@link io.herd.vm.qemu.VmWorkerFactory} starts VMs
 * (cold boots, clones of a template snapshot, resumes of suspended ones) as worker processes of
 * herd-core's {@link io.herd.core.process.ProcessWorkerFactory}; {@link
 * io.herd.vm.qemu.QemuCommand} is their command line, {@link io.herd.vm.qemu.Qmp} the control
 * protocol that saves and loads their state, and {@link io.herd.vm.qemu.AccelProbe} decides
 * between KVM and TCG.
 */
package io.herd.vm.qemu;
