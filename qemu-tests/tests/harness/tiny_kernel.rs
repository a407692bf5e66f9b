//! Tiny Multiboot (v1) kernels assembled byte by byte, so the harness can be tested without
//! a Bulkhead image or a cross toolchain.
//!
//! A Multiboot loader enters the kernel in 32-bit protected mode with flat 4 GiB segments,
//! paging off and interrupts disabled, with EBX pointing at the Multiboot information
//! (Multiboot Specification 0.6.96, section 3.2). The stack pointer is not defined.

/// Where every form is loaded, as the real image is: 1 MiB.
pub const LOAD_ADDRESS: u32 = 0x10_0000;

/// COM1's transmit register. QEMU's 16550 sends whatever is written there, so the code
/// needs no UART set-up.
const COM1: u16 = 0x3f8;

/// The `isa-debug-exit` port the harness's `debug_exit()` adds.
const DEBUG_EXIT_PORT: u8 = 0xf4;

/// Multiboot header magic and checksum rule (section 3.1.1).
const MULTIBOOT_MAGIC: u32 = 0x1bad_b002;
/// Header flag 16: the header's address fields say where to load the file, so the loader
/// need not understand the executable format (the "a.out kludge").
const MULTIBOOT_AOUT_KLUDGE: u32 = 1 << 16;
/// Information flag 2: `cmdline` is valid.
const MULTIBOOT_INFO_CMDLINE: u8 = 1 << 2;
/// Offset of `cmdline` in the Multiboot information.
const MULTIBOOT_INFO_CMDLINE_OFFSET: u8 = 16;

/// Sizes of the ELF32 file header and one program header (System V ABI, chapter 4).
const ELF32_HEADER_SIZE: u32 = 52;
const ELF32_PROGRAM_HEADER_SIZE: u32 = 32;

/// A 32-bit register that CPUID returns.
#[derive(Debug, Clone, Copy)]
pub enum CpuidRegister {
    Ecx,
    Edx,
}

impl CpuidRegister {
    /// ModRM byte for `test reg, imm32` (`F7 /0`, register direct).
    fn test_modrm(self) -> u8 {
        match self {
            CpuidRegister::Ecx => 0xc1,
            CpuidRegister::Edx => 0xc2,
        }
    }
}

/// Machine code for the kernel's entry point, built up one step at a time.
#[derive(Debug, Default, Clone)]
pub struct Code(Vec<u8>);

impl Code {
    /// Empty code; the kernel must end in [`halt`](Code::halt) or something that does not
    /// return.
    pub fn new() -> Code {
        Code::default()
    }

    /// Writes `text` to COM1, one `mov al, imm8; out dx, al` per byte.
    pub fn print(mut self, text: &str) -> Code {
        self.0.extend(print_bytes(text));
        self
    }

    /// Writes the Multiboot command line, then a newline, to COM1, if the loader passed
    /// one.
    pub fn print_cmdline(mut self) -> Code {
        let mut body = vec![0x8b, 0x73, MULTIBOOT_INFO_CMDLINE_OFFSET]; // mov esi, [ebx+16]
        body.extend(load_dx(COM1));
        body.extend([
            0xac, // next: lodsb
            0x84, 0xc0, // test al, al
            0x74, 0x03, // jz done
            0xee, // out dx, al
            0xeb, 0xf8, // jmp next
        ]);
        body.extend(print_bytes("\n")); // done:
        self.0.extend([0xf6, 0x03, MULTIBOOT_INFO_CMDLINE]); // test byte [ebx], 4
        self.0.extend(jz_over(&body));
        self
    }

    /// Writes `text` to COM1 if bit `bit` of `register` is set after CPUID leaf `leaf`.
    pub fn print_if_cpuid(
        mut self,
        leaf: u32,
        register: CpuidRegister,
        bit: u32,
        text: &str,
    ) -> Code {
        self.0.push(0xb8); // mov eax, imm32
        self.0.extend(leaf.to_le_bytes());
        self.0.extend([0x31, 0xc9]); // xor ecx, ecx (subleaf 0)
        self.0.extend([0x0f, 0xa2]); // cpuid
        self.0.extend([0xf7, register.test_modrm()]); // test reg, imm32
        self.0.extend((1u32 << bit).to_le_bytes());
        self.0.extend(jz_over(&print_bytes(text)));
        self
    }

    /// Writes `value` to the `isa-debug-exit` port, which ends QEMU.
    pub fn debug_exit(mut self, value: u8) -> Code {
        self.0.extend([0xb0, value, 0xe6, DEBUG_EXIT_PORT]); // mov al, value; out 0xf4, al
        self
    }

    /// Loads an empty IDT and raises #BP: the #BP cannot be delivered, nor can the #GP
    /// that follows, nor the double fault, so the CPU shuts down (a triple fault).
    pub fn triple_fault(mut self) -> Code {
        self.0.push(0xbc); // mov esp, imm32 (the loader leaves ESP undefined)
        self.0.extend(0x9_0000u32.to_le_bytes());
        self.0.extend([
            0x6a, 0x00, // push 0
            0x6a, 0x00, // push 0: a 6-byte IDTR with limit 0 and base 0 at [esp]
            0x0f, 0x01, 0x1c, 0x24, // lidt [esp]
            0xcc, // int3
        ]);
        self
    }

    /// Loops forever without halting (`jmp $`).
    pub fn spin(mut self) -> Code {
        self.0.extend([0xeb, 0xfe]);
        self
    }

    /// Disables interrupts and halts for good.
    pub fn halt(mut self) -> Code {
        self.0.extend([
            0xfa, // cli
            0xf4, // again: hlt
            0xeb, 0xfd, // jmp again (only an NMI or SMI would get here)
        ]);
        self
    }
}

/// `mov dx, imm16`.
fn load_dx(port: u16) -> Vec<u8> {
    let mut bytes = vec![0x66, 0xba];
    bytes.extend(port.to_le_bytes());
    bytes
}

fn print_bytes(text: &str) -> Vec<u8> {
    let mut bytes = load_dx(COM1);
    for byte in text.bytes() {
        bytes.extend([0xb0, byte, 0xee]); // mov al, byte; out dx, al
    }
    bytes
}

/// `jz` over `body`, then `body`.
fn jz_over(body: &[u8]) -> Vec<u8> {
    let distance = i8::try_from(body.len()).expect("conditional block fits a short jump");
    let mut bytes = vec![0x74, distance.to_le_bytes()[0]];
    bytes.extend(body);
    bytes
}

/// How the kernel file tells the loader where it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// A flat binary whose Multiboot header carries the load addresses (flag 16).
    AoutKludge,
    /// An ELF32 executable with one PT_LOAD at 1 MiB and a Multiboot header without
    /// flag 16: the loader must read the ELF program header.
    Elf32,
    /// An ELF32 executable with one PT_LOAD at 1 MiB whose Multiboot header also carries
    /// the load addresses: the layout of the real Bulkhead image.
    Elf32WithKludge,
}

impl Form {
    /// Every form, for tests that boot each.
    pub const ALL: [Form; 3] = [Form::AoutKludge, Form::Elf32, Form::Elf32WithKludge];
}

/// The kernel file: headers for `form`, then `code`, all loaded at [`LOAD_ADDRESS`].
pub fn multiboot(code: &Code, form: Form) -> Vec<u8> {
    let elf = form != Form::AoutKludge;
    let kludge = form != Form::Elf32;
    let header_offset = if elf {
        ELF32_HEADER_SIZE + ELF32_PROGRAM_HEADER_SIZE
    } else {
        0
    };
    let header_size = if kludge { 32 } else { 12 };
    let entry_offset = header_offset + header_size;
    let file_size = entry_offset + u32::try_from(code.0.len()).expect("tiny code");
    let entry = LOAD_ADDRESS + entry_offset;

    let mut file = Vec::new();
    if elf {
        push_elf32_headers(&mut file, entry, file_size);
    }
    let flags = if kludge { MULTIBOOT_AOUT_KLUDGE } else { 0 };
    let checksum = 0u32.wrapping_sub(MULTIBOOT_MAGIC).wrapping_sub(flags);
    for word in [MULTIBOOT_MAGIC, flags, checksum] {
        file.extend(word.to_le_bytes());
    }
    if kludge {
        let header_addr = LOAD_ADDRESS + header_offset;
        let load_end_addr = LOAD_ADDRESS + file_size;
        let bss_end_addr = load_end_addr;
        for word in [
            header_addr,
            LOAD_ADDRESS,
            load_end_addr,
            bss_end_addr,
            entry,
        ] {
            file.extend(word.to_le_bytes());
        }
    }
    assert_eq!(file.len(), entry_offset as usize);
    file.extend(&code.0);
    file
}

/// An ELF32 file header and a single PT_LOAD that maps the whole file, headers included,
/// at [`LOAD_ADDRESS`].
fn push_elf32_headers(file: &mut Vec<u8>, entry: u32, file_size: u32) {
    const ET_EXEC: u16 = 2;
    const EM_386: u16 = 3;
    const PT_LOAD: u32 = 1;
    const PF_R_X: u32 = 0b101;
    file.extend([
        0x7f, b'E', b'L', b'F', 1, /* 32-bit */
        1, /* LE */
        1, /* version */
    ]);
    file.resize(16, 0);
    file.extend(ET_EXEC.to_le_bytes());
    file.extend(EM_386.to_le_bytes());
    for word in [
        1,
        entry,
        ELF32_HEADER_SIZE,
        0, /* no sections */
        0, /* flags */
    ] {
        file.extend(u32::to_le_bytes(word));
    }
    for half in [ELF32_HEADER_SIZE, ELF32_PROGRAM_HEADER_SIZE, 1, 0, 0, 0] {
        file.extend(u16::try_from(half).expect("small").to_le_bytes());
    }
    assert_eq!(file.len(), ELF32_HEADER_SIZE as usize);
    let offset = 0;
    let (vaddr, paddr) = (LOAD_ADDRESS, LOAD_ADDRESS);
    let align = 0x1000;
    for word in [
        PT_LOAD, offset, vaddr, paddr, file_size, file_size, PF_R_X, align,
    ] {
        file.extend(word.to_le_bytes());
    }
}
