/* The guest's vDSO image (kernel/vdso/), embedded so that an installed
 * hermitux-run needs no file beside it. */
    .section .rodata, "a"
    .balign 4096
    .globl monitor_vdso_image, monitor_vdso_image_end
monitor_vdso_image:
    .incbin "kernel/vdso/hermitux-vdso.so"
monitor_vdso_image_end:

    .section .note.GNU-stack, "", @progbits
