# Bad input: hermitux-run must refuse each with exactly one line on stderr, nothing on
# stdout, and an exit status in 1..127. Sourced by tests/run-tests.sh; see its header for
# the case syntax. The broken ELF files are made at run time from the musl hello.

HELLO=tests/programs/build/musl/hello

# poke FILE OFFSET BYTES-AS-PRINTF-ESCAPES: overwrite bytes in place.
poke() {
    printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
# le64 VALUE: VALUE as 8 little-endian bytes, in printf escapes.
le64() {
    local value=$1 i out=""
    for i in 0 1 2 3 4 5 6 7; do
        out+=$(printf '\\x%02x' $(((value >> (8 * i)) & 255)))
    done
    printf '%s' "$out"
}
# u64 FILE OFFSET: read a little-endian 64-bit number.
u64() {
    od -A n -t u8 -j "$2" -N 8 "$1" | tr -d ' '
}
u16() {
    od -A n -t u2 -j "$2" -N 2 "$1" | tr -d ' '
}
u32() {
    od -A n -t u4 -j "$2" -N 4 "$1" | tr -d ' '
}

# The file offset of the first PT_LOAD program header of an ELF64 file.
first_load_phdr() {
    local phoff phentsize phnum i at
    phoff=$(u64 "$1" 32)
    phentsize=$(u16 "$1" 54)
    phnum=$(u16 "$1" 56)
    for ((i = 0; i < phnum; i++)); do
        at=$((phoff + i * phentsize))
        if [ "$(u32 "$1" "$at")" = 1 ]; then
            echo "$at"
            return 0
        fi
    done
    return 1
}

make_bad_input_fixtures() {
    local fix=$1 load
    [ -f "$HELLO" ] || {
        echo "$HELLO is not built"
        return 1
    }
    mkdir -p "$fix/a-directory"
    # A valid 32-bit i386 executable: a real one if gcc can build it, else 96 crafted
    # bytes (ELF header, one PT_LOAD, and exit(42) by int 0x80).
    if ! gcc -m32 -static -o "$fix/elf32" tests/programs/hello.c 2>/dev/null; then
        printf '\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00' >"$fix/elf32"
        printf '\x02\x00\x03\x00\x01\x00\x00\x00\x54\x80\x04\x08\x34\x00\x00\x00' >>"$fix/elf32"
        printf '\x00\x00\x00\x00\x00\x00\x00\x00\x34\x00\x20\x00\x01\x00\x00\x00' >>"$fix/elf32"
        printf '\x00\x00\x00\x00' >>"$fix/elf32"
        printf '\x01\x00\x00\x00\x00\x00\x00\x00\x00\x80\x04\x08\x00\x80\x04\x08' >>"$fix/elf32"
        printf '\x60\x00\x00\x00\x60\x00\x00\x00\x05\x00\x00\x00\x00\x10\x00\x00' >>"$fix/elf32"
        printf '\xb8\x01\x00\x00\x00\xbb\x2a\x00\x00\x00\xcd\x80' >>"$fix/elf32"
    fi
    chmod 755 "$fix/elf32"
    # hello with EI_CLASS patched to ELFCLASS32: a 64-bit body claiming to be 32-bit.
    cp "$HELLO" "$fix/elfclass32"
    poke "$fix/elfclass32" 4 '\x01'
    # hello with e_machine patched to EM_AARCH64 (183).
    cp "$HELLO" "$fix/aarch64"
    poke "$fix/aarch64" 18 '\xb7\x00'
    # A dynamically linked program whose interpreter does not exist (the path in
    # PT_INTERP replaced by one of the same length).
    gcc -O1 -o "$fix/dynamic" tests/programs/hello.c || return 1
    LC_ALL=C sed -i 's|/lib64/ld-linux-x86-64.so.2|/nonexistent/ld-x86-64.so.2|' "$fix/dynamic"
    # The first 200 bytes of hello: headers that point past the end of the file.
    head -c 200 "$HELLO" >"$fix/truncated"
    chmod 755 "$fix/truncated"
    # hello whose first PT_LOAD has an absurd p_filesz (and p_memsz), or p_offset.
    load=$(first_load_phdr "$HELLO") || return 1
    cp "$HELLO" "$fix/huge-filesz"
    poke "$fix/huge-filesz" $((load + 32)) "$(le64 $((0x7ffffffffff0)))"
    poke "$fix/huge-filesz" $((load + 40)) "$(le64 $((0x7ffffffffff0)))"
    cp "$HELLO" "$fix/huge-offset"
    poke "$fix/huge-offset" $((load + 8)) "$(le64 $((0x100000000000)))"
    # Executable, but neither ELF nor a #! script (execve gives ENOEXEC; a #! script
    # runs through its interpreter, tests/integration/75-shells.sh).
    printf 'echo a shell script without a #! line\n' >"$fix/script.sh"
    chmod 755 "$fix/script.sh"
    : >"$fix/empty"
    chmod 755 "$fix/empty"
    # hello and a #! script without execute permission (execve gives EACCES).
    cp "$HELLO" "$fix/not-executable"
    chmod 644 "$fix/not-executable"
    printf '#!/bin/sh\necho a script without x\n' >"$fix/script-not-executable"
    chmod 644 "$fix/script-not-executable"
}
FIXTURE_MAKERS+=(make_bad_input_fixtures)

bad_input bad/missing-file -- @FIX@/no-such-program
bad_input bad/directory -- @FIX@/a-directory
bad_input bad/not-executable -- @FIX@/not-executable
bad_input bad/script-not-executable -- @FIX@/script-not-executable
bad_input bad/text-file -- @DATA@/lorem.txt
bad_input bad/script -- @FIX@/script.sh
bad_input bad/empty-file -- @FIX@/empty
bad_input bad/elf32 -- @FIX@/elf32
bad_input bad/elfclass32 -- @FIX@/elfclass32
bad_input bad/aarch64 -- @FIX@/aarch64
bad_input bad/missing-interpreter -- @FIX@/dynamic
bad_input bad/not-in-path -- hermitux-no-such-program
bad_input bad/truncated -- @FIX@/truncated
bad_input bad/huge-filesz -- @FIX@/huge-filesz
bad_input bad/huge-offset -- @FIX@/huge-offset
bad_input bad/memory-1M -- -m 1M "$HELLO"
bad_input bad/memory-too-small -- -m 4M "$HELLO"
bad_input bad/memory-garbage -- -m lots "$HELLO"
bad_input bad/unknown-option -- --bogus "$HELLO"
# The options a guest execve passes to the next monitor are refused from a user: they
# named fds the monitor read and closed (here its own stdout: hello printed nothing, exit 0).
bad_input bad/exec-env-fd-alone -- --exec-env-fd=1 "$HELLO"
bad_input bad/exec-accel-fd-alone -- --exec-accel-fd=1 "$HELLO"
bad_input bad/no-program --
bad_input bad/kernel-missing -- --kernel @FIX@/no-such-kernel "$HELLO"

# /dev/kvm present but not usable. Root may open anything, so run hermitux-run as the
# user nobody (setpriv), to whom /dev/kvm (normally 0660 root:kvm) is closed.
kvm_denied_nobody() {
    local dir=$2 st # $1 is the accelerator: always kvm here
    command -v setpriv >/dev/null || {
        echo "setpriv (util-linux) not installed"
        return 77
    }
    [ "$(id -u)" = 0 ] || {
        echo "needs root to switch to the user nobody"
        return 77
    }
    local as_nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)
    if "${as_nobody[@]}" sh -c 'exec 3<>/dev/kvm' 2>/dev/null; then
        echo "/dev/kvm is open to the user nobody; cannot simulate"
        return 77
    fi
    if ! "${as_nobody[@]}" test -r "$HERMITUX_RUN" -a -r "$HELLO"; then
        echo "the work tree is not readable by the user nobody; cannot simulate"
        return 77
    fi
    {
        timeout -k 5 "$TIMEOUT" "${as_nobody[@]}" "$HERMITUX_RUN" --accel=kvm "$HELLO" </dev/null \
            >"$dir/out" 2>"$dir/err"
        st=$?
    } 2>/dev/null
    echo "$st" >"$dir/status"
    bad_input_verdict "$dir"
}

# /dev/kvm replaced by /dev/null in a private mount namespace: opens, but is not KVM.
kvm_not_kvm() {
    local dir=$2 st # $1 is the accelerator: always kvm here
    command -v unshare >/dev/null || {
        echo "unshare (util-linux) not installed"
        return 77
    }
    if ! unshare -m sh -c 'mount --bind /dev/null /dev/kvm' 2>"$dir/unshare.err"; then
        echo "cannot bind-mount over /dev/kvm in a mount namespace: $(head -n 1 "$dir/unshare.err")"
        return 77
    fi
    {
        timeout -k 5 "$TIMEOUT" unshare -m sh -c 'mount --bind /dev/null /dev/kvm && exec "$@"' sh \
            "$HERMITUX_RUN" --accel=kvm "$HELLO" </dev/null >"$dir/out" 2>"$dir/err"
        st=$?
    } 2>/dev/null
    echo "$st" >"$dir/status"
    bad_input_verdict "$dir"
}

# For custom cases: the verdict of check_bad_input as a custom function's return.
bad_input_verdict() {
    local line
    line=$(check_bad_input - - "$1")
    case $line in
    PASS*) return 0 ;;
    *)
        printf '%s\n' "$line" | tail -n +2 | sed 's/^    //' >"$1/detail"
        printf '%s\n' "${line%%$'\n'*}" | sed 's/^FAIL \[-\] -: //'
        return 1
        ;;
    esac
}

custom bad/kvm-denied kvm_denied_nobody --accels kvm
custom bad/kvm-not-kvm kvm_not_kvm --accels kvm
