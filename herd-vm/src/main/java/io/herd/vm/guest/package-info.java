/**
 * The guest side of a microVM worker: the kernel it boots ({@link io.herd.vm.guest.GuestKernel}),
 * the initramfs that is its whole file system ({@link io.herd.vm.guest.Initramfs}, written by
 * {@link io.herd.vm.guest.CpioWriter}), and what the guest init ({@code src/main/c/herd-vm-init.c})
 * starts in it ({@link io.herd.vm.guest.GuestLaunch}).
 */
package io.herd.vm.guest;
