/**
 * Workers as QEMU microVMs: an OCI image unpacked into the guest's root file system, booted once
 * per image as a template, snapshotted, and cloned copy-on-write for each session; idle sessions
 * can be suspended to disk and resumed on their next request. The entry point is {@link
 * io.herd.vm.qemu.VmWorkerFactory}, a {@link io.herd.core.SuspendableWorkerFactory}; herd-core
 * does not know it is talking to VMs.
 */
package io.herd.vm;
